// Rules of command content shared by saved commands and invocations (spec/openapi.md § Commands
// and runs): type, encoding, size, timeout, name lengths, and `{{key}}` custom parameters.
import { COMMAND_TYPES, isCommandType } from '../../protocol/index.js';
import { ApiError, invalid, missing } from '../shared/index.js';

export const MAX_NAME = 128;
export const MAX_DESCRIPTION = 512;
export const MAX_USERNAME = 255;
export const MAX_CUSTOM_PARAMETERS = 20;
export const MAX_PARAMETER_KEY = 64;
export const DEFAULT_TIMEOUT_S = 60;

/** A `{{…}}` token; what is inside decides whether it is a custom parameter (see parameterNames). */
const TOKEN = /\{\{([^{}]*)\}\}/g;
/** Built-ins and parameter-store references are the agent's to fill (luban §5.6 step 2). */
const AGENT_TOKEN = /^(ACS::|oos:|oos-secret:)/;
const PARAM_NAME = /^[A-Za-z0-9_-]+$/;

export function checkType(type: string): string {
  if (!type) {
    throw missing('Type');
  }
  if (!isCommandType(type)) {
    throw new ApiError('InvalidParameter.Type', `Type must be one of ${COMMAND_TYPES.join(', ')}.`);
  }
  return type;
}

/** The script text of `CommandContent` given in `encoding` (PlainText or Base64). */
export function decodeContent(content: string, encoding: string): string {
  if (!content) {
    throw missing('CommandContent');
  }
  if (encoding === 'PlainText') {
    return content;
  }
  if (encoding !== 'Base64') {
    throw new ApiError('InvalidParameter.ContentEncoding', 'ContentEncoding must be PlainText or Base64.');
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content) || content.length % 4 !== 0) {
    throw invalid('CommandContent', 'not valid base64');
  }
  return Buffer.from(content, 'base64').toString('utf8');
}

/** Base64 of a script, refused when over the limit. */
export function encodeContent(script: string, maxBase64: number, what = 'CommandContent'): string {
  const b64 = Buffer.from(script, 'utf8').toString('base64');
  if (b64.length > maxBase64) {
    throw new ApiError(
      'InvalidCommandContent.LengthLimitExceeded',
      `${what} is ${b64.length} bytes after base64 encoding; the limit is ${maxBase64}.`,
    );
  }
  return b64;
}

/** Checks the `ContentEncoding` of a Describe* call (how content and output are returned). */
export function checkOutputEncoding(encoding: string): 'PlainText' | 'Base64' {
  if (encoding !== 'PlainText' && encoding !== 'Base64') {
    throw new ApiError('InvalidParameter.ContentEncoding', 'ContentEncoding must be PlainText or Base64.');
  }
  return encoding;
}

export function checkTimeout(timeout: number | undefined, fallback = DEFAULT_TIMEOUT_S): number {
  const t = timeout ?? fallback;
  if (!Number.isInteger(t) || t < 0 || t > 86_400) {
    throw new ApiError('InvalidParameter.Timeout', 'Timeout must be an integer from 10 to 86400.');
  }
  return Math.max(t, 10);
}

export function checkName(name: string): string {
  if ([...name].length > MAX_NAME) {
    throw new ApiError('CmdName.ExceedLimit', `Name may have at most ${MAX_NAME} characters.`);
  }
  return name;
}

export function checkDescription(description: string): string {
  if ([...description].length > MAX_DESCRIPTION) {
    throw new ApiError('CmdDesc.ExceedLimit', `Description may have at most ${MAX_DESCRIPTION} characters.`);
  }
  return description;
}

export function checkUsername(username: string): string {
  if ([...username].length > MAX_USERNAME) {
    throw new ApiError('Username.ExceedLimit', `Username may have at most ${MAX_USERNAME} characters.`);
  }
  return username;
}

/**
 * The distinct custom parameter names of a script, in order of first use (spelling of that use).
 * Names are letters, digits, `_` and `-`, at most 64 characters, case-insensitive; spaces and line
 * feeds around them are ignored; at most 20 per script.
 */
export function parameterNames(script: string): string[] {
  const byLower = new Map<string, string>();
  for (const m of script.matchAll(TOKEN)) {
    const name = m[1]!.trim();
    if (AGENT_TOKEN.test(name)) {
      continue;
    }
    if (name === '') {
      throw new ApiError('CmdParam.EmptyKey', 'CommandContent has a {{}} custom parameter without a name.');
    }
    if (!PARAM_NAME.test(name)) {
      throw new ApiError(
        'CmdParam.InvalidParamName',
        `Custom parameter names may contain only letters, digits, _ and -: {{${name.slice(0, 80)}}}.`,
      );
    }
    if (name.length > MAX_PARAMETER_KEY) {
      throw new ApiError(
        'CmdParamName.ExceedLimit',
        `Custom parameter names may have at most ${MAX_PARAMETER_KEY} characters: ${name.slice(0, 80)}…`,
      );
    }
    if (!byLower.has(name.toLowerCase())) {
      byLower.set(name.toLowerCase(), name);
    }
  }
  if (byLower.size > MAX_CUSTOM_PARAMETERS) {
    throw new ApiError(
      'ParameterCount.ExceedLimit',
      `CommandContent may use at most ${MAX_CUSTOM_PARAMETERS} custom parameters; it uses ${byLower.size}.`,
    );
  }
  return [...byLower.values()];
}

/**
 * Replaces `{{name}}` custom parameters with their values. Every name the script uses needs a
 * value, every value needs a name the script uses (names match case-insensitively), and values are
 * strings, numbers or booleans.
 */
export function substituteParameters(script: string, params: Record<string, unknown>): string {
  const names = parameterNames(script);
  const values = new Map<string, unknown>();
  for (const [k, v] of Object.entries(params)) {
    if (values.has(k.toLowerCase())) {
      throw new ApiError('InvalidParameter.Parameters', `Parameters gives ${k} twice (names are case-insensitive).`);
    }
    values.set(k.toLowerCase(), v);
  }
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const absent = names.filter((n) => !values.has(n.toLowerCase()));
  if (absent.length > 0) {
    throw new ApiError('InvalidParameter.Parameters', `Parameters is missing values for: ${absent.join(', ')}.`);
  }
  const unused = Object.keys(params).filter((k) => !wanted.has(k.toLowerCase()));
  if (unused.length > 0) {
    throw new ApiError(
      'InvalidParameter.Parameters',
      `Parameters has values for names the content does not use: ${unused.join(', ')}.`,
    );
  }
  const bad = names.filter((n) => !['string', 'number', 'boolean'].includes(typeof values.get(n.toLowerCase())));
  if (bad.length > 0) {
    throw new ApiError(
      'InvalidParameter.Parameters',
      `Parameter values must be strings, numbers or booleans: ${bad.join(', ')}.`,
    );
  }
  return script.replace(TOKEN, (token, inner: string) => {
    const name = inner.trim();
    return AGENT_TOKEN.test(name) ? token : String(values.get(name.toLowerCase()));
  });
}

/**
 * The script an invocation runs: the template with its custom parameters filled in when they are
 * enabled. Parameters given while they are disabled are refused rather than silently dropped.
 */
export function renderScript(template: string, enableParameter: boolean, params: Record<string, unknown>): string {
  if (enableParameter) {
    return substituteParameters(template, params);
  }
  if (Object.keys(params).length > 0) {
    throw new ApiError(
      'Parameter.Disabled',
      'Parameters were given but custom parameters are not enabled (EnableParameter is false).',
    );
  }
  return template;
}
