// The control plane's error: an Alibaba-style code plus the HTTP status the OpenAPI edge answers with.
// Every code the operator API can return is listed here, with its status, in one place.
const STATUS = {
  MissingParameter: 400,
  InvalidParameter: 400,
  'InvalidAction.NotFound': 404,
  'InvalidInstanceId.NotFound': 404,
  'InvalidCmdId.NotFound': 404,
  'InvalidInvokeId.NotFound': 404,
  'InvalidActivationId.NotFound': 404,
  'InvalidCommandContent.LengthLimitExceeded': 400,
  'InvalidParameter.InstanceIds': 400,
  'InvalidParameter.Type': 400,
  'InvalidParameter.ContentEncoding': 400,
  'InvalidParameter.Timeout': 400,
  'InvalidParameter.RepeatMode': 400,
  'InvalidParameter.Frequency': 400,
  'InvalidParameter.RateFrequency': 400,
  'InvalidParameter.AtFrequency': 400,
  'InvalidParameter.InstanceCount': 400,
  'InvalidParameter.TimeToLiveInHours': 400,
  'InvalidParameter.IpAddressRange': 400,
  'InvalidParameter.Parameters': 400,
  'InvalidParameter.NextToken': 400,
  'InvalidParameter.Name': 400,
  'InvalidParameter.Content': 400,
  'InvalidParameter.ContentType': 400,
  'InvalidParameter.TargetDir': 400,
  'InvalidParameter.FileMode': 400,
  'InvalidFileContent.LengthLimitExceeded': 400,
  // Session Manager (StartTerminalSession, EndTerminalSession, DescribeTerminalSessions).
  'InvalidParameter.PortNumber': 400,
  'InvalidParameter.CommandLine': 400,
  'InvalidParameter.TargetServer': 400,
  'InvalidParameter.ConnectionType': 400,
  'InvalidSessionId.NotFound': 404,
  ClientNotOnline: 403,
  // Plugins (PublishPlugin, ListPlugins, RetirePluginVersion, ListPluginStatus).
  'InvalidParameter.Package': 400,
  'InvalidPlugin.NotFound': 404,
  'PluginVersion.AlreadyExists': 409,
  // Parameter store (OOS 2019-06-01 actions; {{oos:…}} references in commands).
  'EntityNotExists.Parameter': 404,
  'EntityNotExists.ParameterVersion': 404,
  'EntityAlreadyExists.Parameter': 409,
  'InvalidParameter.Value': 400,
  'InvalidParameter.Constraints': 400,
  'InvalidParameter.Tags': 400,
  'InvalidParameter.Path': 400,
  'InvalidParameter.OosParameterNotFound': 400,
  'Parameter.Disabled': 400,
  'ParameterCount.ExceedLimit': 403,
  'CmdParam.EmptyKey': 403,
  'CmdParam.InvalidParamName': 403,
  'CmdParamName.ExceedLimit': 403,
  'CmdCount.ExceedQuota': 403,
  'CmdName.ExceedLimit': 403,
  'CmdDesc.ExceedLimit': 403,
  'Username.ExceedLimit': 403,
  'Operation.Forbidden': 403,
  // Access policies (RAM): a refused call, and the RAM management extension actions.
  'Forbidden.RAM': 403,
  'InvalidParameter.UserName': 400,
  'InvalidParameter.PolicyName': 400,
  MalformedPolicyDocument: 400,
  'EntityNotExist.User': 404,
  'EntityNotExist.Policy': 404,
  'EntityNotExist.User.AccessKey': 404,
  'EntityNotExist.User.Policy': 404,
  'EntityAlreadyExists.User': 409,
  'EntityAlreadyExists.Policy': 409,
  'EntityAlreadyExists.User.Policy': 409,
  'DeleteConflict.Policy.User': 409,
  'DeleteConflict.Policy.Group': 409,
  'InvalidParameter.GroupName': 400,
  'EntityNotExist.Group': 404,
  'EntityNotExist.User.Group': 404,
  'EntityNotExist.Group.Policy': 404,
  'EntityAlreadyExists.Group': 409,
  'EntityAlreadyExists.User.Group': 409,
  'EntityAlreadyExists.Group.Policy': 409,
  'InvalidOperation.InvocationNotModifiable': 403,
  InvalidTagCount: 400,
  'InvalidTagKey.Malformed': 400,
  'InvalidTagValue.Malformed': 400,
  'Duplicate.TagKey': 400,
  IdempotentParameterMismatch: 400,
  MissingAccessKeyId: 400,
  'InvalidAccessKeyId.NotFound': 404,
  'InvalidAccessKeyId.Inactive': 403,
  IncompleteSignature: 400,
  SignatureDoesNotMatch: 400,
  SignatureNonceUsed: 400,
  'InvalidTimeStamp.Expired': 400,
  'InvalidTimeStamp.Format': 400,
  UnsupportedSignatureMethod: 400,
  InternalError: 500,
} as const;

export type ApiErrorCode = keyof typeof STATUS;

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  constructor(code: ApiErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
  }
}

export const isApiError = (e: unknown): e is ApiError => e instanceof ApiError;
export const missing = (name: string) =>
  new ApiError(
    'MissingParameter',
    `The input parameter "${name}" that is mandatory for processing this request is not supplied.`,
  );
export const invalid = (name: string, why: string) =>
  new ApiError('InvalidParameter', `The specified parameter "${name}" is not valid: ${why}`);
