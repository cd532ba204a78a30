export { CLIENT_SESSION_PATH, SessionRelay, type RelayDeps } from './relay.js';
export {
  DEFAULT_RECORDING_MAX_BYTES,
  DEFAULT_RECORDING_RETENTION_MS,
  Recorder,
  type RecordingOptions,
} from './recorder.js';
