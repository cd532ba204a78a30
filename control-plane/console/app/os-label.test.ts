import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { osLabel } from './os-label.js';

describe('osLabel', () => {
  it('shows the distribution our agent reports, with the machine', () => {
    assert.deepEqual(osLabel('linux', 'Linux_Debian GNU/Linux 12 (bookworm)_x86_64'), {
      text: 'Debian GNU/Linux 12 (bookworm) · x86_64',
      title: 'linux Linux_Debian GNU/Linux 12 (bookworm)_x86_64',
    });
    assert.equal(osLabel('linux', 'Linux_Alpine Linux v3.20_aarch64').text, 'Alpine Linux v3.20 · aarch64');
  });

  it('shows a stock kernel build as the system and machine, naming a distribution the build names', () => {
    const stock = 'Linux_#1 SMP PREEMPT_DYNAMIC Fri Oct 6 2023_x86_64';
    assert.deepEqual(osLabel('linux', stock), { text: 'Linux x86_64', title: `linux ${stock}` });
    assert.equal(osLabel('linux', 'Linux_#1 SMP PREEMPT_DYNAMIC @0_x86_64').text, 'Linux x86_64');
    // The SDK's own example, and a Debian kernel.
    assert.equal(
      osLabel('Linux', 'Linux_#38~18.04.1-Ubuntu SMP Wed Jan 6 18:26:30 UTC 2021_x86_64').text,
      'Ubuntu 18.04 · Linux x86_64',
    );
    assert.equal(
      osLabel('linux', 'Linux_#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)_aarch64').text,
      'Debian · Linux aarch64',
    );
    assert.equal(
      osLabel('freebsd', 'FreeBSD_FreeBSD 13.2-RELEASE releng/13.2-n254617 GENERIC_amd64').text,
      'FreeBSD amd64',
    );
  });

  it('shows anything else as reported (Windows product names), or the OS type', () => {
    assert.deepEqual(osLabel('windows', 'Windows Server 2022 Datacenter'), {
      text: 'Windows Server 2022 Datacenter',
      title: 'windows Windows Server 2022 Datacenter',
    });
    assert.equal(osLabel('linux', '').text, 'linux');
    assert.equal(osLabel('', '').text, '');
  });
});
