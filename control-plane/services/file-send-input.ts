// SendFile's request, checked (spec/openapi.md § SendFile): every rule names the parameter it is
// about, and the result is what the service stores.
import { isPlainFileName, isStrictBase64 } from '../../protocol/index.js';
import { ApiError, invalid, missing } from '../shared/index.js';
import { validateTags, type RawTag } from './tags.js';

export interface SendFileInput {
  name: string;
  content: string;
  contentType: string;
  targetDir: string | undefined;
  fileOwner: string;
  fileGroup: string;
  fileMode: string;
  overwrite: boolean;
  timeout: number | undefined;
  description: string;
  instanceIds: string[];
  clientToken: string | undefined;
  tags: RawTag[];
}

export interface FileSendLimits {
  maxInstancesPerCall: number;
  /** How long a record may wait for its agent's fetch before it fails with DeliveryTimeout. */
  deliveryTimeoutMs: number;
}

/** Base64 content may be at most 32 KB (spec/openapi.md § SendFile). */
export const MAX_FILE_CONTENT_BASE64 = 32 * 1024;
const DEFAULT_TARGET_DIR = '/root';
const DEFAULT_FILE_MODE = '0644';

/** Absolute on Linux (`/…`) or Windows (`C:\…`), without `..` segments. */
const isAbsoluteDir = (d: string) =>
  (d.startsWith('/') || /^[A-Za-z]:[\\/]/.test(d)) && !d.includes('\0') && !d.split(/[/\\]/).includes('..');

/** The request, checked; every rule names the parameter it is about. */
export function checkInput(i: SendFileInput, limits: FileSendLimits) {
  if (i.name === '') {
    throw missing('Name');
  }
  if (i.name.length > 255 || !isPlainFileName(i.name)) {
    throw new ApiError('InvalidParameter.Name', `Name must be a plain file name without / \\ or "..": ${i.name}`);
  }
  if (i.content === '') {
    throw missing('Content');
  }
  if (i.contentType !== 'PlainText' && i.contentType !== 'Base64') {
    throw new ApiError(
      'InvalidParameter.ContentType',
      `ContentType must be PlainText or Base64, got ${i.contentType}.`,
    );
  }
  let bytes: Buffer;
  if (i.contentType === 'Base64') {
    if (!isStrictBase64(i.content)) {
      throw new ApiError('InvalidParameter.Content', 'Content is not valid base64 (ContentType is Base64).');
    }
    bytes = Buffer.from(i.content, 'base64');
  } else {
    bytes = Buffer.from(i.content, 'utf8');
  }
  const content64 = bytes.toString('base64');
  if (content64.length > MAX_FILE_CONTENT_BASE64) {
    throw new ApiError(
      'InvalidFileContent.LengthLimitExceeded',
      `Content may be at most ${MAX_FILE_CONTENT_BASE64} bytes after base64 encoding; it is ${content64.length}.`,
    );
  }
  const targetDir = i.targetDir ?? DEFAULT_TARGET_DIR;
  if (!isAbsoluteDir(targetDir)) {
    throw new ApiError('InvalidParameter.TargetDir', `TargetDir must be an absolute path without "..": ${targetDir}`);
  }
  const fileMode = i.fileMode === '' ? DEFAULT_FILE_MODE : i.fileMode;
  if (!/^[0-7]{3,4}$/.test(fileMode)) {
    throw new ApiError('InvalidParameter.FileMode', `FileMode must be 3 or 4 octal digits, got ${i.fileMode}.`);
  }
  for (const [name, v] of [
    ['FileOwner', i.fileOwner],
    ['FileGroup', i.fileGroup],
  ] as const) {
    if (v.length > 64 || /[\s:/\0]/.test(v)) {
      throw invalid(name, 'a user or group name of at most 64 characters without spaces, ":" or "/"');
    }
  }
  const timeout = i.timeout ?? 60;
  if (!Number.isInteger(timeout) || timeout < 10 || timeout > 86_400) {
    throw new ApiError('InvalidParameter.Timeout', 'Timeout must be an integer from 10 to 86400.');
  }
  if (i.description.length > 512) {
    throw invalid('Description', 'at most 512 characters');
  }
  const instanceIds = [...new Set(i.instanceIds)];
  if (instanceIds.length === 0) {
    throw missing('InstanceId');
  }
  if (instanceIds.length > limits.maxInstancesPerCall) {
    throw new ApiError(
      'InvalidParameter.InstanceIds',
      `At most ${limits.maxInstancesPerCall} instances per call; got ${instanceIds.length}.`,
    );
  }
  return { content64, targetDir, fileMode, timeout, instanceIds, tags: validateTags(i.tags) };
}
