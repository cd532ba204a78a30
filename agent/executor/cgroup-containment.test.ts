import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cellName,
  cellOwnerPid,
  cgroup2MountPoint,
  defaultTasksCgroup,
  detectContainment,
  unifiedCgroupPath,
} from './cgroup-containment.js';

describe('cgroup2MountPoint', () => {
  it('finds the unified hierarchy of a hybrid host among the v1 ones', () => {
    const mountinfo = [
      '35 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
      '36 35 0:31 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw,nsdelegate',
      '37 35 0:32 / /sys/fs/cgroup/systemd rw,nosuid shared:11 - cgroup cgroup rw,xattr,name=systemd',
    ].join('\n');
    assert.equal(cgroup2MountPoint(mountinfo), '/sys/fs/cgroup/unified');
  });
  it('the pure v2 layout, and escaped characters in the mount point', () => {
    assert.equal(cgroup2MountPoint('30 23 0:26 / /sys/fs/cgroup rw shared:4 - cgroup2 cgroup2 rw'), '/sys/fs/cgroup');
    assert.equal(cgroup2MountPoint('30 23 0:26 / /mnt/my\\040cg rw - cgroup2 none rw'), '/mnt/my cg');
  });
  it('none on a v1-only host, and a bind mount of a subtree does not count', () => {
    assert.equal(cgroup2MountPoint('37 35 0:32 / /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids'), undefined);
    assert.equal(cgroup2MountPoint('40 23 0:26 /system.slice /mnt/cg rw - cgroup2 cgroup2 rw'), undefined);
  });
});

describe('unifiedCgroupPath', () => {
  it('reads the 0:: line', () => {
    assert.equal(unifiedCgroupPath('4:memory:/x\n0::/system.slice/aliyun.service\n'), '/system.slice/aliyun.service');
    assert.equal(unifiedCgroupPath('0::/\n'), '/');
  });
  it('none without one, or when the cgroup was removed', () => {
    assert.equal(unifiedCgroupPath('4:memory:/x\n1:name=systemd:/\n'), undefined);
    assert.equal(unifiedCgroupPath('0::/gone (deleted)\n'), undefined);
  });
});

describe('names', () => {
  it('tasks/ below the agent cgroup; a specific name at the root', () => {
    assert.equal(defaultTasksCgroup('/system.slice/aliyun.service'), '/system.slice/aliyun.service/tasks');
    assert.equal(defaultTasksCgroup('/'), '/aliyun-assist-tasks');
  });
  it('a cell is <label>.<pid>.<n>, the label reduced to safe characters', () => {
    assert.equal(cellName('t-abc123', 42, 7), 't-abc123.42.7');
    assert.equal(cellName(undefined, 42, 0), 'run.42.0');
    assert.equal(cellName('../x y', 1, 2), '___x_y.1.2');
    assert.equal(cellName('a'.repeat(100), 1, 2), `${'a'.repeat(64)}.1.2`);
  });
  it('the owner pid comes back out of a cell name; other names have none', () => {
    assert.equal(cellOwnerPid(cellName('t-1', 4242, 3)), 4242);
    assert.equal(cellOwnerPid('cgroup.procs'), undefined);
    assert.equal(cellOwnerPid('something'), undefined);
  });
});

describe('detectContainment', () => {
  it('falls back to the process group with a reason when no cgroup2 is mounted', () => {
    const d = detectContainment({ platform: 'linux', mountinfo: '/dev/null' });
    assert.equal(d.kind, 'process-group');
    assert.match(d.kind === 'process-group' ? d.reason : '', /no cgroup2 hierarchy/);
  });
});
