// agent/files: SendFile — checks a file task and writes the file safely (temporary file, then
// rename or link), answering with the stock result report.
export { AccountLookupError, systemAccounts, type AccountLookup } from './accounts.js';
export { ensureDir, TEMP_PREFIX, writeFileSafely, type SafeWriteResult, type SafeWriteSpec } from './safe-write.js';
export {
  DEFAULT_FILE_MODE,
  FileSender,
  decodeStrictBase64,
  isPlainFileName,
  isSafeDestination,
  parseFileMode,
  type FileSenderOptions,
} from './send-file.js';
