// Numeric constants of the stock protocol (spec/luban-protocol.md §12).
export const OUTPUT_QUOTA_FLOOR = 12_000;
export const RUNNING_OUTPUT_CAP = 6_000;
export const RUNNING_CHUNK_MAX = 2_048;
export const RUNNING_INTERVAL_FLOOR_MS = 1_000;
export const DEFAULT_TASK_TIMEOUT_S = 3_600;
export const ERR_DESC_MAX_BYTES = 255;
export const HEARTBEAT_INTERVAL_MIN_MS = 55_000;
export const HEARTBEAT_INTERVAL_MAX_MS = 65_000;
export const POWER_OFF_EXIT_CODE = 193;
export const REBOOT_EXIT_CODE = 194;
