// The operator actions: each turns parameters into a service call and a response body.
import type { ActivationService, InstanceService, InvocationService } from '../services/index.js';
import { missing } from '../shared/index.js';
import type { Params } from './params.js';

export interface ActionDeps {
  activations: ActivationService;
  instances: InstanceService;
  invocations: InvocationService;
}

export type Action = (p: Params, deps: ActionDeps) => Promise<Record<string, unknown>>;

export const ACTIONS: Record<string, Action> = {
  async CreateActivation(p, d) {
    const r = await d.activations.create({
      instanceName: p.str('InstanceName'),
      description: p.str('Description'),
      ipAddressRange: p.str('IpAddressRange'),
      instanceCount: p.int('InstanceCount') ?? 10,
      timeToLiveInHours: p.int('TimeToLiveInHours') ?? 4,
    });
    return { ActivationId: r.activationId, ActivationCode: r.activationCode };
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
        keepCommand: p.bool('KeepCommand'),
        repeatMode: p.str('RepeatMode', 'Once'),
        clientToken: p.optStr('ClientToken'),
      },
      Date.now(),
    );
  },

  async DescribeInvocations(p, d) {
    const f: Parameters<InvocationService['describeInvocations']>[0] = {
      includeOutput: p.bool('IncludeOutput'),
      contentEncoding: p.str('ContentEncoding', 'Base64'),
      ...p.page(),
    };
    for (const [key, param] of [
      ['invokeId', 'InvokeId'],
      ['commandId', 'CommandId'],
      ['commandName', 'CommandName'],
      ['commandType', 'CommandType'],
      ['instanceId', 'InstanceId'],
      ['invokeStatus', 'InvokeStatus'],
    ] as const) {
      const v = p.optStr(param);
      if (v) {
        f[key] = v;
      }
    }
    return d.invocations.describeInvocations(f);
  },

  async DescribeInvocationResults(p, d) {
    const f: Parameters<InvocationService['describeResults']>[0] = {
      contentEncoding: p.str('ContentEncoding', 'Base64'),
      ...p.page(),
    };
    for (const [key, param] of [
      ['invokeId', 'InvokeId'],
      ['instanceId', 'InstanceId'],
      ['commandId', 'CommandId'],
      ['invokeRecordStatus', 'InvokeRecordStatus'],
    ] as const) {
      const v = p.optStr(param);
      if (v) {
        f[key] = v;
      }
    }
    if (!f.invokeId && !f.instanceId && !f.commandId) {
      throw missing('InvokeId');
    }
    return d.invocations.describeResults(f);
  },

  async DescribeCloudAssistantStatus(p, d) {
    const f: Parameters<InstanceService['describeAssistantStatus']>[0] = {
      instanceIds: p.list('InstanceId'),
      ...p.page(),
    };
    const os = p.optStr('OSType');
    if (os) {
      f.osType = os;
    }
    return d.instances.describeAssistantStatus(f);
  },

  async DescribeManagedInstances(p, d) {
    const f: Parameters<InstanceService['describeManaged']>[0] = { instanceIds: p.list('InstanceId'), ...p.page() };
    const name = p.optStr('InstanceName');
    const activationId = p.optStr('ActivationId');
    const os = p.optStr('OsType');
    const connected = p.optStr('Connected');
    if (name) {
      f.instanceName = name;
    }
    if (activationId) {
      f.activationId = activationId;
    }
    if (os) {
      f.osType = os;
    }
    if (connected) {
      f.connected = connected === 'true';
    }
    return d.instances.describeManaged(f);
  },
};
