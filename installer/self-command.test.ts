import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentSelfCommand, type SelfProcess } from './index.js';

const proc = (o: Partial<SelfProcess>): SelfProcess => ({
  platform: 'linux',
  execPath: '/usr/bin/node',
  execArgv: [],
  argv1: undefined,
  isSea: false,
  cwd: '/root',
  pathEnv: '/usr/sbin:/usr/bin',
  isExecutable: () => false,
  ...o,
});

describe('agentSelfCommand', () => {
  it('node with a script: node, its flags and the absolute script', () => {
    assert.deepEqual(
      agentSelfCommand(
        proc({ argv1: 'dist/aliyun-service.cjs', execArgv: ['--import', '/x/loader.mjs'], cwd: '/opt/oca' }),
      ),
      ['/usr/bin/node', '--import', '/x/loader.mjs', '/opt/oca/dist/aliyun-service.cjs'],
    );
  });

  it('node with the multicall bundle: the program name follows', () => {
    assert.deepEqual(agentSelfCommand(proc({ argv1: '/opt/oca/dist/aliyun-assist.cjs' })), [
      '/usr/bin/node',
      '/opt/oca/dist/aliyun-assist.cjs',
      'aliyun-service',
    ]);
  });

  it('the single executable started through its aliyun-service link keeps the link (not the resolved binary)', () => {
    const sea = { isSea: true, execPath: '/usr/local/share/aliyun-assist/2.6.0.1/aliyun-assist' };
    assert.deepEqual(
      agentSelfCommand(proc({ ...sea, argv1: '/usr/local/share/aliyun-assist/2.6.0.1/aliyun-service' })),
      ['/usr/local/share/aliyun-assist/2.6.0.1/aliyun-service'],
    );
    assert.deepEqual(
      agentSelfCommand(proc({ ...sea, argv1: './aliyun-service', cwd: '/usr/local/share/aliyun-assist/2.6.0.1' })),
      ['/usr/local/share/aliyun-assist/2.6.0.1/aliyun-service'],
    );
  });

  it('the single executable found on PATH by its bare name', () => {
    const p = proc({
      isSea: true,
      execPath: '/usr/local/share/aliyun-assist/2.6.0.1/aliyun-assist',
      argv1: 'aliyun-service',
      isExecutable: (f) => f === '/usr/sbin/aliyun-service',
    });
    assert.deepEqual(agentSelfCommand(p), ['/usr/sbin/aliyun-service']);
    assert.deepEqual(agentSelfCommand({ ...p, isExecutable: () => false }), [
      '/usr/local/share/aliyun-assist/2.6.0.1/aliyun-assist',
      'aliyun-service',
    ]);
  });

  it('Windows paths', () => {
    assert.deepEqual(
      agentSelfCommand(
        proc({
          platform: 'win32',
          isSea: true,
          execPath: 'C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\aliyun_assist_service.exe',
          argv1: 'C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\aliyun_assist_service.exe',
        }),
      ),
      ['C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\aliyun_assist_service.exe'],
    );
  });
});
