// Rules of the parameter store (OOS parameters): names, types, values, constraints, tags and paths,
// checked before anything is stored. Pure.
import { createContext, Script } from 'node:vm';
import { ApiError, invalid, missing } from '../shared/index.js';

export const PARAMETER_TYPES = ['String', 'StringList', 'Secret'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];

export const MAX_NAME = 200;
export const MAX_SECRET_NAME = 180;
export const MAX_VALUE = 4096;
export const MAX_DESCRIPTION = 200;
/** Versions kept per parameter; the oldest goes when a new one would exceed it. */
export const MAX_VERSIONS = 100;
export const MAX_PARAMETER_TAGS = 20;

const NAME = /^[A-Za-z0-9_\-/]+$/;
const RESERVED_PREFIX = /^\/?(ALIYUN|ACS|ALIBABA|ALICLOUD|OOS)/i;

export function checkParameterName(name: string | undefined, secret: boolean): string {
  if (name === undefined || name === '') {
    throw missing('Name');
  }
  const max = secret ? MAX_SECRET_NAME : MAX_NAME;
  if (
    name.length > max ||
    !NAME.test(name) ||
    RESERVED_PREFIX.test(name) ||
    name.endsWith('/') ||
    name.includes('//')
  ) {
    throw new ApiError(
      'InvalidParameter.Name',
      `Name must be 1 to ${max} letters, digits, -, _ and / (not ending with / and without //), and may not start with ALIYUN, ACS, ALIBABA, ALICLOUD or OOS.`,
    );
  }
  return name;
}

/** Type of CreateParameter (String or StringList) or CreateSecretParameter (Secret only). */
export function checkParameterType(type: string | undefined, secret: boolean): ParameterType {
  if (secret) {
    if (type !== undefined && type !== '' && type !== 'Secret') {
      throw new ApiError('InvalidParameter.Type', 'Type of a secret parameter must be Secret.');
    }
    return 'Secret';
  }
  if (type === undefined || type === '') {
    throw missing('Type');
  }
  if (type !== 'String' && type !== 'StringList') {
    throw new ApiError('InvalidParameter.Type', 'Type must be String or StringList.');
  }
  return type;
}

export function checkDescription(description: string): string {
  if ([...description].length > MAX_DESCRIPTION) {
    throw invalid('Description', `at most ${MAX_DESCRIPTION} characters`);
  }
  return description;
}

/** The Constraints of a parameter, read from its JSON. */
export interface Constraints {
  AllowedValues?: string[];
  AllowedPattern?: string;
  MinLength?: number;
  MaxLength?: number;
}

const badConstraints = (why: string) => new ApiError('InvalidParameter.Constraints', `Constraints ${why}.`);

/** Parses and checks a Constraints JSON ('' or absent: none). */
export function parseConstraints(json: string): Constraints {
  if (json === '') {
    return {};
  }
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw badConstraints('is not valid JSON');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw badConstraints('must be a JSON object');
  }
  const c: Constraints = {};
  for (const [k, v] of Object.entries(o)) {
    if (k === 'AllowedValues') {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
        throw badConstraints('AllowedValues must be an array of strings');
      }
      c.AllowedValues = v as string[];
    } else if (k === 'AllowedPattern') {
      if (typeof v !== 'string') {
        throw badConstraints('AllowedPattern must be a string');
      }
      try {
        new RegExp(v, 'u');
      } catch {
        throw badConstraints('AllowedPattern is not a valid regular expression');
      }
      c.AllowedPattern = v;
    } else if (k === 'MinLength' || k === 'MaxLength') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_VALUE) {
        throw badConstraints(`${k} must be an integer from 0 to ${MAX_VALUE}`);
      }
      c[k] = v;
    } else {
      throw badConstraints(
        `has an unknown key ${k.slice(0, 40)} (AllowedValues, AllowedPattern, MinLength, MaxLength)`,
      );
    }
  }
  if (c.MinLength !== undefined && c.MaxLength !== undefined && c.MinLength > c.MaxLength) {
    throw badConstraints('MinLength is greater than MaxLength');
  }
  return c;
}

/**
 * A value: 1 to 4096 characters and within the parameter's constraints. AllowedPattern must match
 * the whole value. Error messages never quote a value (it may be a secret).
 */
export function checkValue(value: string | undefined, constraints: Constraints): string {
  if (value === undefined || value === '') {
    throw missing('Value');
  }
  const length = [...value].length;
  if (length > MAX_VALUE) {
    throw new ApiError('InvalidParameter.Value', `Value may have at most ${MAX_VALUE} characters.`);
  }
  if (constraints.AllowedValues && !constraints.AllowedValues.includes(value)) {
    throw new ApiError('InvalidParameter.Value', 'Value is not one of the AllowedValues of the parameter.');
  }
  if (constraints.AllowedPattern !== undefined && !matchesWhole(constraints.AllowedPattern, value)) {
    throw new ApiError('InvalidParameter.Value', 'Value does not match the AllowedPattern of the parameter.');
  }
  if (constraints.MinLength !== undefined && length < constraints.MinLength) {
    throw new ApiError('InvalidParameter.Value', `Value is shorter than the MinLength ${constraints.MinLength}.`);
  }
  if (constraints.MaxLength !== undefined && length > constraints.MaxLength) {
    throw new ApiError('InvalidParameter.Value', `Value is longer than the MaxLength ${constraints.MaxLength}.`);
  }
  return value;
}

/**
 * How long one AllowedPattern match may take: a pattern that backtracks without end must not stall
 * the server, and an ordinary match on a loaded machine must never come near it.
 */
const PATTERN_MS = 1000;
/** One context and script for every match (vm's timeout is what can interrupt a running regex). */
const matchContext = createContext({ re: /(?:)/u, value: '' });
const matchScript = new Script('re.test(value)');

/** Whether `pattern` matches all of `value`, given at most PATTERN_MS. */
function matchesWhole(pattern: string, value: string): boolean {
  matchContext['re'] = new RegExp(`^(?:${pattern})$`, 'u');
  matchContext['value'] = value;
  try {
    return matchScript.runInContext(matchContext, { timeout: PATTERN_MS }) === true;
  } catch {
    throw new ApiError(
      'InvalidParameter.Constraints',
      `Constraints AllowedPattern took more than ${PATTERN_MS} ms to match the value; use a simpler pattern.`,
    );
  } finally {
    matchContext['value'] = '';
  }
}

/** `Tags` as OOS takes it: a JSON object of string keys to string values ('' or absent: none). */
export function parseTags(json: string | undefined): Map<string, string> {
  const m = new Map<string, string>();
  if (json === undefined || json === '') {
    return m;
  }
  let o: unknown;
  try {
    o = JSON.parse(json);
  } catch {
    throw new ApiError('InvalidParameter.Tags', 'Tags must be a JSON object such as {"k1":"v1"}.');
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    throw new ApiError('InvalidParameter.Tags', 'Tags must be a JSON object such as {"k1":"v1"}.');
  }
  for (const [k, v] of Object.entries(o)) {
    if (k === '' || [...k].length > 128 || /^(aliyun|acs:)/i.test(k)) {
      throw new ApiError(
        'InvalidParameter.Tags',
        'Tag keys must have 1 to 128 characters and may not start with aliyun or acs:.',
      );
    }
    const value = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
    if (value === undefined || [...value].length > 128) {
      throw new ApiError(
        'InvalidParameter.Tags',
        `The value of tag ${k.slice(0, 40)} must be a string of at most 128 characters.`,
      );
    }
    m.set(k, value);
  }
  if (m.size > MAX_PARAMETER_TAGS) {
    throw new ApiError('InvalidParameter.Tags', `At most ${MAX_PARAMETER_TAGS} tags.`);
  }
  return m;
}

/** A Path (`/a/b/`): starts with `/`; the trailing `/` is added when missing. */
export function normalizePath(path: string | undefined, required: boolean): string | undefined {
  if (path === undefined || path === '') {
    if (required) {
      throw missing('Path');
    }
    return undefined;
  }
  if (!path.startsWith('/') || !/^[A-Za-z0-9_\-/]+$/.test(path) || path.includes('//') || path.length > MAX_NAME) {
    throw new ApiError('InvalidParameter.Path', 'Path must start with / and hold only letters, digits, -, _ and /.');
  }
  return path.endsWith('/') ? path : `${path}/`;
}
