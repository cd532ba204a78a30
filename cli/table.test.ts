import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProgressRenderer, progressBar, progressText } from './progress.js';
import { formatDuration, renderTable } from './table.js';

describe('renderTable', () => {
  it('pads columns to the widest cell, two spaces apart, without trailing spaces', () => {
    const t = renderTable(
      ['INSTANCE', 'STATUS', 'EXIT CODE'],
      [
        ['mi-1', 'Success', 0],
        ['mi-longer-id', 'Failed', 3],
        ['mi-3', 'Stopped', undefined],
      ],
    );
    assert.equal(
      t,
      [
        'INSTANCE      STATUS   EXIT CODE',
        'mi-1          Success  0',
        'mi-longer-id  Failed   3',
        'mi-3          Stopped',
        '',
      ].join('\n'),
    );
  });

  it('keeps a row on one line and measures non-ASCII text by characters', () => {
    const t = renderTable(
      ['A', 'B'],
      [
        ['two\nlines', 'x'],
        ['中文', 'y'],
      ],
    );
    assert.deepEqual(t.split('\n'), ['A          B', 'two lines  x', '中文         y', '']);
  });
});

describe('formatDuration', () => {
  it('whole seconds, minutes and hours; empty when unknown', () => {
    assert.deepEqual([0, 400, 1_000, 42_400, 187_000, 7_500_000, undefined, -5, NaN].map(formatDuration), [
      '<1s',
      '<1s',
      '1s',
      '42s',
      '3m07s',
      '2h05m',
      '',
      '',
      '',
    ]);
  });
});

describe('progress', () => {
  it('draws a bar in proportion to finished instances', () => {
    assert.equal(progressBar(0, 4, 8), '[--------]');
    assert.equal(progressBar(1, 4, 8), '[##------]');
    assert.equal(progressBar(4, 4, 8), '[########]');
    assert.equal(progressBar(0, 0, 4), '[----]');
    assert.equal(progressText({ done: 2, total: 5, failed: 0 }), '2/5 instances finished');
    assert.equal(progressText({ done: 2, total: 5, failed: 1 }), '2/5 instances finished, 1 failed');
  });

  it('on a terminal: redraws one line in place, then ends it', () => {
    let out = '';
    const p = new ProgressRenderer({ write: (s: string) => (out += s), isTTY: true });
    p.update({ done: 0, total: 2, failed: 0 });
    p.update({ done: 1, total: 2, failed: 1 });
    p.finish();
    assert.equal(
      out,
      `\r${progressBar(0, 2)} 0/2 instances finished\x1b[K` +
        `\r${progressBar(1, 2)} 1/2 instances finished, 1 failed\x1b[K\n`,
    );
  });

  it('elsewhere: one plain line per change, nothing for repeats', () => {
    let out = '';
    const p = new ProgressRenderer({ write: (s: string) => (out += s) });
    p.update({ done: 0, total: 2, failed: 0 });
    p.update({ done: 0, total: 2, failed: 0 });
    p.update({ done: 2, total: 2, failed: 0 });
    p.finish();
    assert.equal(out, 'progress: 0/2 instances finished\nprogress: 2/2 instances finished\n');
  });
});
