// The `file` entries of a task list (SendFile, luban §5.9): handed one after another to the files
// module, each result report queued in the durable outbox like every other final report.
import { parseSendFileEntry, type SendFileReport, type SendFileTask } from '../../protocol/index.js';
import { ensureError, type Logger } from '../shared/index.js';

/** Port of agent/files: writes one file and answers with its report; never rejects. */
export interface SendFilePort {
  send(task: SendFileTask): Promise<SendFileReport>;
}

export interface FileEntryDeps {
  files: SendFilePort | undefined;
  log: Logger;
  /** True while a report of this task waits in the outbox: the file was handled already. */
  reported: (taskId: string) => boolean;
  final: (r: SendFileReport) => Promise<void>;
}

/** Handles the entries in order (stock runs them synchronously, before anything else of the list). */
export async function runFileEntries(entries: readonly unknown[], d: FileEntryDeps): Promise<void> {
  for (const [i, raw] of entries.entries()) {
    const parsed = parseSendFileEntry(raw, `file[${i}]`);
    if (!parsed.ok) {
      d.log.warn('file entry unreadable', { errors: parsed.errors });
      continue;
    }
    const task = parsed.value.task;
    const log = d.log.child({ taskId: task.taskID });
    if (d.files === undefined) {
      log.warn('file entry not handled: no file sender');
      continue;
    }
    if (d.reported(task.taskID)) {
      log.info('file already handled, its report is pending');
      continue;
    }
    try {
      await d.final(await d.files.send(task));
    } catch (e) {
      log.error('file task crashed', { err: ensureError(e) });
    }
  }
}
