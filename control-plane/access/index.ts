export { AccessControl, ROOT_ONLY_ACTIONS, type AuthorizeInput } from './access-control.js';
export {
  findParameterRefs,
  plannedChecks,
  type ArnScope,
  type CallParams,
  type OosParameterNames,
  type ParameterRefFinder,
  type ParameterRefs,
} from './action-resources.js';
export {
  AuditTrail,
  DEFAULT_AUDIT_OPTIONS,
  plainIp,
  type AuditEntry,
  type AuditEvent,
  type AuditFilter,
  type AuditOptions,
  type IdentityType,
} from './audit-trail.js';
export { compilePolicy, PolicyDocumentError, type CompiledPolicy } from './policy-document.js';
export { evaluate, type Check, type Decision, type RequestContext } from './policy-engine.js';
export { RamDirectory } from './ram-directory.js';
export type { RamPolicy, RamUser } from './ram-views.js';
