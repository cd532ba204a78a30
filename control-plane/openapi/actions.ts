// The operator actions: each turns parameters into a service call and a response body.
import {
  validateTagFilters,
  type ActivationService,
  type CommandService,
  type FileSendService,
  type InstanceService,
  type InvocationService,
  type PluginService,
  type SessionService,
} from '../services/index.js';
import type { AccessControl, AuditTrail, RamDirectory } from '../access/index.js';
import type { Activation, InstallScripts } from '../install/index.js';
import type { Params } from './params.js';
import { PLUGIN_ACTIONS } from './plugin-actions.js';
import { RAM_ACTIONS } from './ram-actions.js';
import { SESSION_ACTIONS } from './session-actions.js';

export interface ActionDeps {
  activations: ActivationService;
  instances: InstanceService;
  invocations: InvocationService;
  commands: CommandService;
  files: FileSendService;
  plugins: PluginService;
  sessions: SessionService;
  /** StartTerminalSession's WebSocketUrl for a session and its token. */
  sessionUrl: (sessionId: string, token: string) => string;
  /** Access policies and the audit trail (ram-actions.ts). */
  access: AccessControl;
  ram: RamDirectory;
  audit: AuditTrail;
  /** Renders CreateActivation's install scripts; absent when this server serves no packages. */
  installScripts?: (a: Activation) => InstallScripts;
}

/** `caller`: the AccessKey id that signed the call. */
export type Action = (p: Params, deps: ActionDeps, caller?: string) => Promise<Record<string, unknown>>;

/**
 * InstanceId.N of DescribeManagedInstances ("Valid values of N: 1 to 50" in the SDK model) and of
 * DescribeCloudAssistantStatus (undocumented there: the same 50, one page's worth).
 */
export const MAX_LISTED_INSTANCE_IDS = 50;

/** Periodic modes are the default when a schedule is given (Timed or Frequency). */
const repeatModeOf = (p: Params) =>
  p.str('RepeatMode') || (p.optBool('Timed') === true || p.optStr('Frequency') !== undefined ? 'Period' : 'Once');

/** Adds `key: value` to `f` for each present string parameter. */
function pick<F extends object>(f: F, p: Params, pairs: readonly (readonly [keyof F & string, string])[]): F {
  for (const [key, param] of pairs) {
    const v = p.optStr(param);
    if (v !== undefined) {
      (f as Record<string, unknown>)[key] = v;
    }
  }
  return f;
}

export const ACTIONS: Record<string, Action> = {
  ...SESSION_ACTIONS,
  ...PLUGIN_ACTIONS,
  ...RAM_ACTIONS,
  async CreateActivation(p, d) {
    const r = await d.activations.create({
      instanceName: p.str('InstanceName'),
      description: p.str('Description'),
      ipAddressRange: p.str('IpAddressRange'),
      instanceCount: p.int('InstanceCount') ?? 10,
      timeToLiveInHours: p.int('TimeToLiveInHours') ?? 4,
    });
    return {
      ActivationId: r.activationId,
      ActivationCode: r.activationCode,
      // An extension the SDK models ignore; rendered for this response only, never stored.
      ...(d.installScripts ? { InstallScripts: d.installScripts(r) } : {}),
    };
  },

  async DisableActivation(p, d) {
    return d.activations.disable(p.required('ActivationId'));
  },

  async DeleteActivation(p, d) {
    return d.activations.delete(p.required('ActivationId'));
  },

  async DescribeActivations(p, d) {
    const f: Parameters<ActivationService['describe']>[0] = { ...p.page() };
    const id = p.optStr('ActivationId');
    const name = p.optStr('InstanceName');
    if (id) {
      f.activationId = id;
    }
    if (name) {
      f.instanceName = name;
    }
    return d.activations.describe(f);
  },

  async RunCommand(p, d) {
    return d.invocations.runCommand(
      {
        instanceIds: p.list('InstanceId'),
        type: p.str('Type'),
        commandContent: p.str('CommandContent'),
        contentEncoding: p.str('ContentEncoding', 'PlainText'),
        name: p.str('Name'),
        description: p.str('Description'),
        workingDir: p.str('WorkingDir'),
        timeout: p.int('Timeout'),
        enableParameter: p.bool('EnableParameter'),
        parameters: p.jsonObject('Parameters'),
        username: p.str('Username'),
        windowsPasswordName: p.str('WindowsPasswordName'),
        keepCommand: p.bool('KeepCommand'),
        repeatMode: repeatModeOf(p),
        frequency: p.optStr('Frequency'),
        clientToken: p.optStr('ClientToken'),
        tags: p.tags(),
      },
      Date.now(),
    );
  },

  async CreateCommand(p, d) {
    return d.commands.create(
      {
        name: p.str('Name'),
        type: p.str('Type'),
        commandContent: p.str('CommandContent'),
        // CreateCommand's content was Base64-only before ContentEncoding existed: Base64 stays the default.
        contentEncoding: p.str('ContentEncoding', 'Base64'),
        description: p.str('Description'),
        workingDir: p.str('WorkingDir'),
        timeout: p.int('Timeout'),
        enableParameter: p.bool('EnableParameter'),
        clientToken: p.optStr('ClientToken'),
        tags: p.tags(),
      },
      Date.now(),
    );
  },

  async ModifyCommand(p, d) {
    const input: Parameters<CommandService['modify']>[0] = { commandId: p.str('CommandId') };
    const timeout = p.int('Timeout');
    if (timeout !== undefined) {
      input.timeout = timeout;
    }
    for (const [key, param] of [
      ['name', 'Name'],
      ['description', 'Description'],
      ['commandContent', 'CommandContent'],
      ['workingDir', 'WorkingDir'],
    ] as const) {
      const v = p.opt(param);
      if (v !== undefined) {
        input[key] = v;
      }
    }
    return d.commands.modify(input);
  },

  async DeleteCommand(p, d) {
    return d.commands.delete(p.str('CommandId'));
  },

  async DescribeCommands(p, d) {
    const f: Parameters<CommandService['describe']>[0] = {
      tags: validateTagFilters(p.tags()),
      contentEncoding: p.str('ContentEncoding', 'Base64'),
      paging: p.paging(),
    };
    pick(f, p, [
      ['commandId', 'CommandId'],
      ['name', 'Name'],
      ['type', 'Type'],
      ['description', 'Description'],
      ['provider', 'Provider'],
    ]);
    const latest = p.optBool('Latest');
    if (latest !== undefined) {
      f.latest = latest;
    }
    return d.commands.describe(f);
  },

  async InvokeCommand(p, d) {
    const input: Parameters<InvocationService['invokeCommand']>[0] = {
      commandId: p.str('CommandId'),
      instanceIds: p.list('InstanceId'),
      parameters: p.jsonObject('Parameters'),
      repeatMode: repeatModeOf(p),
      frequency: p.optStr('Frequency'),
      clientToken: p.optStr('ClientToken'),
      tags: p.tags(),
    };
    const timeout = p.int('Timeout');
    if (timeout !== undefined) {
      input.timeout = timeout;
    }
    for (const [key, param] of [
      ['username', 'Username'],
      ['workingDir', 'WorkingDir'],
      ['windowsPasswordName', 'WindowsPasswordName'],
    ] as const) {
      const v = p.optStr(param);
      if (v !== undefined) {
        input[key] = v;
      }
    }
    return d.invocations.invokeCommand(input, Date.now());
  },

  async StopInvocation(p, d) {
    return d.invocations.stop(p.str('InvokeId'), p.list('InstanceId'), Date.now());
  },

  async ModifyInvocationAttribute(p, d) {
    const input: Parameters<InvocationService['modify']>[0] = {
      invokeId: p.str('InvokeId'),
      contentEncoding: p.str('ContentEncoding', 'PlainText'),
      instanceIds: p.list('InstanceId'),
    };
    const content = p.optStr('CommandContent');
    if (content !== undefined) {
      input.commandContent = content;
    }
    const enable = p.optBool('EnableParameter');
    if (enable !== undefined) {
      input.enableParameter = enable;
    }
    if (p.optStr('Parameters') !== undefined) {
      input.parameters = p.jsonObject('Parameters');
    }
    const frequency = p.optStr('Frequency');
    if (frequency !== undefined) {
      input.frequency = frequency;
    }
    return d.invocations.modify(input, Date.now());
  },

  async DescribeInvocations(p, d) {
    const f: Parameters<InvocationService['describeInvocations']>[0] = {
      includeOutput: p.bool('IncludeOutput'),
      contentEncoding: p.str('ContentEncoding', 'Base64'),
      tags: validateTagFilters(p.tags()),
      paging: p.paging(),
    };
    pick(f, p, [
      ['invokeId', 'InvokeId'],
      ['commandId', 'CommandId'],
      ['commandName', 'CommandName'],
      ['commandType', 'CommandType'],
      ['instanceId', 'InstanceId'],
      ['invokeStatus', 'InvokeStatus'],
      ['repeatMode', 'RepeatMode'],
    ]);
    const timed = p.optBool('Timed');
    if (timed !== undefined) {
      f.timed = timed;
    }
    return d.invocations.describeInvocations(f);
  },

  async DescribeInvocationResults(p, d) {
    const f: Parameters<InvocationService['describeResults']>[0] = {
      contentEncoding: p.str('ContentEncoding', 'Base64'),
      tags: validateTagFilters(p.tags()),
      paging: p.paging(),
    };
    pick(f, p, [
      ['invokeId', 'InvokeId'],
      ['instanceId', 'InstanceId'],
      ['commandId', 'CommandId'],
      ['invokeRecordStatus', 'InvokeRecordStatus'],
    ]);
    // Every run of a Period or EveryReboot invocation, one row each (else one row per instance).
    f.includeHistory = p.optBool('IncludeHistory') === true;
    return d.invocations.describeResults(f);
  },

  async DescribeCloudAssistantStatus(p, d) {
    const f: Parameters<InstanceService['describeAssistantStatus']>[0] = {
      instanceIds: p.list('InstanceId', MAX_LISTED_INSTANCE_IDS),
      ...p.page(),
    };
    const os = p.optStr('OSType');
    if (os) {
      f.osType = os;
    }
    return d.instances.describeAssistantStatus(f);
  },

  async DescribeManagedInstances(p, d) {
    const f: Parameters<InstanceService['describeManaged']>[0] = {
      instanceIds: p.list('InstanceId', MAX_LISTED_INSTANCE_IDS),
      paging: p.paging(),
    };
    const name = p.optStr('InstanceName');
    const activationId = p.optStr('ActivationId');
    const os = p.optStr('OsType');
    const connected = p.optBool('Connected');
    if (name) {
      f.instanceName = name;
    }
    if (activationId) {
      f.activationId = activationId;
    }
    if (os) {
      f.osType = os;
    }
    if (connected !== undefined) {
      f.connected = connected;
    }
    return d.instances.describeManaged(f);
  },

  async DeregisterManagedInstance(p, d) {
    return d.instances.deregisterManaged(p.required('InstanceId'), Date.now());
  },

  async ModifyManagedInstance(p, d) {
    return d.instances.modifyManaged(p.required('InstanceId'), p.required('InstanceName'));
  },

  async SendFile(p, d) {
    return d.files.send(
      {
        name: p.str('Name'),
        content: p.str('Content'),
        contentType: p.str('ContentType', 'PlainText'),
        targetDir: p.optStr('TargetDir'),
        fileOwner: p.str('FileOwner'),
        fileGroup: p.str('FileGroup'),
        fileMode: p.str('FileMode'),
        overwrite: p.bool('Overwrite'),
        timeout: p.int('Timeout'),
        description: p.str('Description'),
        instanceIds: p.list('InstanceId'),
        clientToken: p.optStr('ClientToken'),
        tags: p.tags(),
      },
      Date.now(),
    );
  },

  async DescribeSendFileResults(p, d) {
    const f: Parameters<FileSendService['describe']>[0] = {
      tags: validateTagFilters(p.tags()),
      paging: p.paging(),
    };
    pick(f, p, [
      ['invokeId', 'InvokeId'],
      ['instanceId', 'InstanceId'],
      ['name', 'Name'],
      ['invocationStatus', 'InvocationStatus'],
    ]);
    return d.files.describe(f);
  },
};

/**
 * The action a request names, by own keys only: `Action` is client input, and `toString`,
 * `constructor` or `__proto__` must read as unknown, not as members of Object.prototype.
 */
export const actionNamed = (name: string | undefined): Action | undefined =>
  name !== undefined && Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
