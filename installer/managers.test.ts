import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createServiceManager, InstallerError, restartIfInstalled, serviceLayout, type ServiceSpec } from './index.js';
import { recordingHost } from './test-host.js';

const AGENT: ServiceSpec = {
  kind: 'agent',
  command: ['/usr/local/share/aliyun-assist/2.6.0.1/aliyun-service'],
  installDir: '/usr/local/share/aliyun-assist',
  version: '2.6.0.1',
};
const WIN_AGENT: ServiceSpec = {
  kind: 'agent',
  command: ['C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\aliyun_assist_service.exe'],
  installDir: 'C:\\ProgramData\\aliyun\\assist',
  version: '2.6.0.1',
};
const UNIT = '/etc/systemd/system/aliyun.service';
const JOB = '/etc/init/aliyun-service.conf';
const SCRIPT = '/etc/init.d/aliyun-service';
const XML = 'C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\AliyunService.xml';

const rejectsWith = (p: Promise<unknown>, code: InstallerError['code'], re: RegExp) =>
  assert.rejects(p, (e: unknown) => e instanceof InstallerError && e.code === code && re.test(e.message));

describe('systemd manager', () => {
  it('install writes the unit, reloads systemd and enables aliyun.service', async () => {
    const host = recordingHost();
    const m = createServiceManager('systemd', AGENT, host);
    await m.install();
    assert.deepEqual(host.log, [
      `write ${UNIT} 0644`,
      '$ systemctl daemon-reload',
      '$ systemctl enable aliyun.service',
    ]);
    assert.match(
      host.fileSystem.get(UNIT)!.content,
      /^ExecStart=\/usr\/local\/share\/aliyun-assist\/2\.6\.0\.1\/aliyun-service$/m,
    );
    assert.equal(m.name, 'aliyun');
  });

  it('under another root it enables offline with --root and reloads nothing', async () => {
    const host = recordingHost();
    await createServiceManager('systemd', AGENT, host, serviceLayout('/srv/image')).install();
    assert.deepEqual(host.log, [
      'write /srv/image/etc/systemd/system/aliyun.service 0644',
      '$ systemctl --root=/srv/image enable aliyun.service',
    ]);
  });

  it('start, stop and status use systemctl; status reads is-active', async () => {
    const host = recordingHost({
      files: { [UNIT]: '' },
      answer: (line) => (line === 'systemctl is-active aliyun.service' ? { code: 3, stdout: 'inactive\n' } : undefined),
    });
    const m = createServiceManager('systemd', AGENT, host);
    await m.start();
    await m.stop();
    assert.deepEqual(await m.status(), { state: 'stopped', detail: 'inactive' });
    assert.deepEqual(host.log, [
      '$ systemctl start aliyun.service',
      '$ systemctl stop aliyun.service',
      '$ systemctl is-active aliyun.service',
    ]);
  });

  it('reports a failing command with its status and what it said', async () => {
    const host = recordingHost({
      files: { [UNIT]: '' },
      answer: () => ({
        code: 5,
        stderr: 'Failed to start aliyun.service: Unit aliyun.service has a bad unit file setting.\n',
      }),
    });
    await rejectsWith(
      createServiceManager('systemd', AGENT, host).start(),
      'COMMAND_FAILED',
      /^systemctl start aliyun\.service exited with 5: Failed to start aliyun\.service: Unit aliyun\.service has a bad/,
    );
  });

  it('start of a unit that is not installed fails without running anything', async () => {
    const host = recordingHost();
    const m = createServiceManager('systemd', AGENT, host);
    await rejectsWith(m.start(), 'NOT_INSTALLED', /aliyun\.service is not installed/);
    assert.deepEqual(await m.status(), { state: 'not-installed', detail: `${UNIT} does not exist` });
    assert.deepEqual(host.log, []);
  });

  it('uninstall stops, disables, removes the unit and reloads; twice is a no-op', async () => {
    const host = recordingHost({ files: { [UNIT]: '' } });
    const m = createServiceManager('systemd', AGENT, host);
    await m.uninstall();
    await m.uninstall();
    assert.deepEqual(host.log, [
      '$ systemctl stop aliyun.service',
      '$ systemctl disable aliyun.service',
      `rm ${UNIT}`,
      '$ systemctl daemon-reload',
    ]);
  });

  it('the watchdog is assist_daemon.service', async () => {
    const host = recordingHost();
    const m = createServiceManager(
      'systemd',
      { ...AGENT, kind: 'watchdog', command: ['/usr/local/share/assist-daemon/assist_daemon'] },
      host,
    );
    await m.install();
    assert.deepEqual(host.log, [
      'write /etc/systemd/system/assist_daemon.service 0644',
      '$ systemctl daemon-reload',
      '$ systemctl enable assist_daemon.service',
    ]);
  });

  it('restartIfInstalled restarts an installed service as one systemd job, and does nothing otherwise', async () => {
    const installed = recordingHost({ files: { [UNIT]: '' } });
    assert.equal(await restartIfInstalled(createServiceManager('systemd', AGENT, installed)), true);
    assert.deepEqual(installed.log, ['$ systemctl is-active aliyun.service', '$ systemctl restart aliyun.service']);
    const absent = recordingHost();
    assert.equal(await restartIfInstalled(createServiceManager('systemd', AGENT, absent)), false);
    assert.deepEqual(absent.log, []);
  });
});

describe('upstart manager', () => {
  const status = (running: boolean) => (line: string) =>
    line === 'initctl status aliyun-service'
      ? { stdout: running ? 'aliyun-service start/running, process 4242\n' : 'aliyun-service stop/waiting\n' }
      : undefined;

  it('install writes the job and reloads the configuration', async () => {
    const host = recordingHost();
    await createServiceManager('upstart', AGENT, host).install();
    assert.deepEqual(host.log, [`write ${JOB} 0644`, '$ initctl reload-configuration']);
    assert.match(host.fileSystem.get(JOB)!.content, /^respawn$/m);
  });

  it('start asks first and starts a stopped job; a running one is left alone', async () => {
    const stopped = recordingHost({ files: { [JOB]: '' }, answer: status(false) });
    await createServiceManager('upstart', AGENT, stopped).start();
    assert.deepEqual(stopped.log, ['$ initctl status aliyun-service', '$ initctl start aliyun-service']);
    const running = recordingHost({ files: { [JOB]: '' }, answer: status(true) });
    await createServiceManager('upstart', AGENT, running).start();
    assert.deepEqual(running.log, ['$ initctl status aliyun-service']);
  });

  it('restart: initctl restart when running, start when stopped', async () => {
    const running = recordingHost({ files: { [JOB]: '' }, answer: status(true) });
    await createServiceManager('upstart', AGENT, running).restart();
    assert.deepEqual(running.log, ['$ initctl status aliyun-service', '$ initctl restart aliyun-service']);
    const stopped = recordingHost({ files: { [JOB]: '' }, answer: status(false) });
    await createServiceManager('upstart', AGENT, stopped).restart();
    assert.deepEqual(stopped.log, ['$ initctl status aliyun-service', '$ initctl start aliyun-service']);
  });

  it('status parses initctl', async () => {
    const host = recordingHost({ files: { [JOB]: '' }, answer: status(true) });
    assert.deepEqual(await createServiceManager('upstart', AGENT, host).status(), {
      state: 'running',
      detail: 'aliyun-service start/running, process 4242',
    });
  });

  it('uninstall stops a running job, removes it and reloads', async () => {
    const host = recordingHost({ files: { [JOB]: '' }, answer: status(true) });
    await createServiceManager('upstart', AGENT, host).uninstall();
    assert.deepEqual(host.log, [
      '$ initctl status aliyun-service',
      '$ initctl stop aliyun-service',
      `rm ${JOB}`,
      '$ initctl reload-configuration',
    ]);
  });
});

describe('sysvinit manager', () => {
  it('install with chkconfig (RHEL): writes an executable script, --add and on', async () => {
    const host = recordingHost({ commands: ['chkconfig', 'update-rc.d'] });
    await createServiceManager('sysvinit', AGENT, host).install();
    assert.deepEqual(host.log, [
      `write ${SCRIPT} 0755`,
      '$ chkconfig --add aliyun-service',
      '$ chkconfig aliyun-service on',
    ]);
    assert.match(host.fileSystem.get(SCRIPT)!.content, /^# chkconfig: 2345 50 02$/m);
  });

  it('install with update-rc.d (Debian)', async () => {
    const host = recordingHost({ commands: ['update-rc.d'] });
    await createServiceManager('sysvinit', AGENT, host).install();
    assert.deepEqual(host.log, [`write ${SCRIPT} 0755`, '$ update-rc.d aliyun-service defaults']);
  });

  it('install with neither writes the stock S50/K02 links itself', async () => {
    const host = recordingHost();
    await createServiceManager('sysvinit', AGENT, host).install();
    assert.deepEqual(host.log, [
      `write ${SCRIPT} 0755`,
      ...['2', '3', '4', '5'].map((l) => `ln -s ../init.d/aliyun-service /etc/rc${l}.d/S50aliyun-service`),
      ...['0', '1', '6'].map((l) => `ln -s ../init.d/aliyun-service /etc/rc${l}.d/K02aliyun-service`),
    ]);
  });

  it('under another root it writes the links even where chkconfig exists (it cannot be rooted)', async () => {
    const host = recordingHost({ commands: ['chkconfig'] });
    await createServiceManager('sysvinit', AGENT, host, serviceLayout('/tmp/r')).install();
    assert.equal(host.log[0], 'write /tmp/r/etc/init.d/aliyun-service 0755');
    assert.equal(host.log[1], 'ln -s ../init.d/aliyun-service /tmp/r/etc/rc2.d/S50aliyun-service');
    assert.equal(host.commands.length, 0);
  });

  it('the watchdog starts after the agent (S51) and stops before it (K01)', async () => {
    const host = recordingHost();
    await createServiceManager(
      'sysvinit',
      { ...AGENT, kind: 'watchdog', command: ['/usr/local/share/assist-daemon/assist_daemon'] },
      host,
    ).install();
    assert.ok(host.log.includes('ln -s ../init.d/assist_daemon /etc/rc3.d/S51assist_daemon'));
    assert.ok(host.log.includes('ln -s ../init.d/assist_daemon /etc/rc0.d/K01assist_daemon'));
  });

  it('start, stop and status run the script; status maps LSB codes', async () => {
    let code = 0;
    const host = recordingHost({
      files: { [SCRIPT]: '' },
      answer: (line) =>
        line.endsWith(' status') ? { code, stdout: code === 0 ? 'Running (pid 7)\n' : 'Stopped\n' } : undefined,
    });
    const m = createServiceManager('sysvinit', AGENT, host);
    await m.start();
    await m.stop();
    assert.deepEqual(await m.status(), { state: 'running', detail: 'Running (pid 7)' });
    code = 3;
    assert.deepEqual(await m.status(), { state: 'stopped', detail: 'Stopped' });
    assert.deepEqual(host.log, [`$ ${SCRIPT} start`, `$ ${SCRIPT} stop`, `$ ${SCRIPT} status`, `$ ${SCRIPT} status`]);
  });

  it('restart runs the script detached, so it reaches start even if its caller is killed', async () => {
    const host = recordingHost({ files: { [SCRIPT]: '' } });
    await createServiceManager('sysvinit', AGENT, host).restart();
    assert.deepEqual(host.log, [`$ ${SCRIPT} restart (detached)`]);
  });

  it('a script that fails to start is an error', async () => {
    const host = recordingHost({
      files: { [SCRIPT]: '' },
      answer: () => ({ code: 1, stderr: 'aliyun-service exited at start; see /var/log/aliyun-service.err\n' }),
    });
    await rejectsWith(
      createServiceManager('sysvinit', AGENT, host).start(),
      'COMMAND_FAILED',
      /exited with 1: aliyun-service exited at start/,
    );
  });

  it('uninstall stops, deregisters, removes the links and the script', async () => {
    const host = recordingHost({ files: { [SCRIPT]: '' }, commands: ['update-rc.d'] });
    await createServiceManager('sysvinit', AGENT, host).uninstall();
    assert.deepEqual(host.log.slice(0, 2), [`$ ${SCRIPT} stop`, '$ update-rc.d -f aliyun-service remove']);
    assert.equal(host.log.filter((l) => l.startsWith('rm /etc/rc')).length, 7);
    assert.equal(host.log.at(-1), `rm ${SCRIPT}`);
  });
});

describe('windows manager', () => {
  const query = (state: string | undefined) => (line: string) => {
    if (line !== 'sc.exe query AliyunService') {
      return undefined;
    }
    return state === undefined
      ? { code: 1060, stdout: '[SC] EnumQueryServicesStatus:OpenService FAILED 1060:\n' }
      : {
          stdout: `\nSERVICE_NAME: AliyunService\n        TYPE               : 10  WIN32_OWN_PROCESS\n        STATE              : ${state}\n`,
        };
  };

  it('install writes the WinSW XML and registers AliyunService with sc.exe', async () => {
    const host = recordingHost();
    await createServiceManager('windows', WIN_AGENT, host).install();
    assert.deepEqual(host.log[0], `write ${XML} 0644`);
    assert.deepEqual(host.commands, [
      [
        'sc.exe',
        'create',
        'AliyunService',
        'binPath=',
        '"C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\AliyunService.exe"',
        'start=',
        'auto',
        'DisplayName=',
        'Aliyun Assist Service',
      ],
      ['sc.exe', 'description', 'AliyunService', '阿里云助手'],
      [
        'sc.exe',
        'failure',
        'AliyunService',
        'reset=',
        '86400',
        'actions=',
        'restart/180000/restart/180000/restart/10800000',
      ],
      ['sc.exe', 'failureflag', 'AliyunService', '1'],
    ]);
    assert.match(
      host.fileSystem.get(XML)!.content,
      /<executable>C:\\ProgramData\\aliyun\\assist\\2\.6\.0\.1\\aliyun_assist_service\.exe<\/executable>/,
    );
  });

  it('reinstalling over an existing service reconfigures it (1073: the service exists)', async () => {
    const host = recordingHost({ answer: (line) => (line.startsWith('sc.exe create') ? { code: 1073 } : undefined) });
    await createServiceManager('windows', WIN_AGENT, host).install();
    assert.deepEqual(host.commands[1]?.slice(0, 5), [
      'sc.exe',
      'config',
      'AliyunService',
      'binPath=',
      '"C:\\ProgramData\\aliyun\\assist\\2.6.0.1\\AliyunService.exe"',
    ]);
  });

  it('status reads the state number from sc.exe query; 1060 means not installed', async () => {
    const running = createServiceManager('windows', WIN_AGENT, recordingHost({ answer: query('4  RUNNING') }));
    assert.deepEqual(await running.status(), { state: 'running', detail: '4  RUNNING' });
    const stopped = createServiceManager('windows', WIN_AGENT, recordingHost({ answer: query('1  STOPPED') }));
    assert.equal((await stopped.status()).state, 'stopped');
    const absent = createServiceManager('windows', WIN_AGENT, recordingHost({ answer: query(undefined) }));
    assert.equal((await absent.status()).state, 'not-installed');
  });

  it('start uses net start (it waits), only when the service is stopped', async () => {
    const host = recordingHost({ answer: query('1  STOPPED') });
    await createServiceManager('windows', WIN_AGENT, host).start();
    assert.deepEqual(host.log, ['$ sc.exe query AliyunService', '$ net.exe start AliyunService']);
    const running = recordingHost({ answer: query('4  RUNNING') });
    await createServiceManager('windows', WIN_AGENT, running).start();
    assert.deepEqual(running.log, ['$ sc.exe query AliyunService']);
  });

  it('restart: net stop then net start, like the stock client', async () => {
    const host = recordingHost({ answer: query('4  RUNNING') });
    await createServiceManager('windows', WIN_AGENT, host).restart();
    assert.deepEqual(host.log, [
      '$ sc.exe query AliyunService',
      '$ net.exe stop AliyunService',
      '$ net.exe start AliyunService',
    ]);
  });

  it('stop of a service that is not installed is NOT_INSTALLED', async () => {
    await rejectsWith(
      createServiceManager('windows', WIN_AGENT, recordingHost({ answer: query(undefined) })).stop(),
      'NOT_INSTALLED',
      /AliyunService is not installed/,
    );
  });

  it('uninstall stops a running service, deletes it and its XML', async () => {
    const host = recordingHost({ answer: query('4  RUNNING'), files: { [XML]: '' } });
    await createServiceManager('windows', WIN_AGENT, host).uninstall();
    assert.deepEqual(host.log, [
      '$ sc.exe query AliyunService',
      '$ net.exe stop AliyunService',
      '$ sc.exe delete AliyunService',
      `rm ${XML}`,
    ]);
    assert.equal(host.fileSystem.has(XML), false);
  });

  it('there is no Windows watchdog service', async () => {
    assert.throws(
      () => createServiceManager('windows', { ...WIN_AGENT, kind: 'watchdog' }, recordingHost()),
      (e: unknown) => e instanceof InstallerError && e.code === 'UNSUPPORTED',
    );
  });

  it('a command that cannot be started is COMMAND_FAILED', async () => {
    const host = recordingHost({ answer: () => new Error('spawn sc.exe ENOENT') });
    await rejectsWith(
      createServiceManager('windows', WIN_AGENT, host).status(),
      'COMMAND_FAILED',
      /sc\.exe query AliyunService: spawn sc\.exe ENOENT/,
    );
  });
});
