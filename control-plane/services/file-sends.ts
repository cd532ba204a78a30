// SendFile (spec/openapi.md § SendFile, luban §5.9): checks the request, stores one send and a
// record per instance, kicks connected agents (`kick_vm file create <id>`), hands the file out on
// the agent's next fetch exactly once, and applies the agent's finish/invalid report.
import { createHash } from 'node:crypto';
import { sql, type SqlBool } from 'kysely';
import {
  formatKick,
  sendFileSignature,
  type SendFileEntry,
  type SendFileInvalidParam,
  type SendFileReport,
} from '../../protocol/index.js';
import type { Db, FileSendInstanceTable } from '../store/index.js';
import { valuesOf } from '../store/index.js';
import { ApiError, appendTo, isoTime, newId } from '../shared/index.js';
import type { AgentNotifier } from './agent-notifier.js';
import { checkInput, type FileSendLimits, type SendFileInput } from './file-send-input.js';
import { sendStatusOf, sendStatusSql } from './file-send-status.js';
import { keysetPage, type KeyColumn, type Paging } from './paging.js';
import { hasTags, saveTags, tagView, tagsOf, type TagFilter } from './tags.js';

/** Per-instance statuses that no longer change. */
const ENDED = ['Success', 'Failed', 'Invalid', 'Aborted', 'Timeout'] as const;

/** What an `invalid` report means to the operator: the stock ErrorCode and a readable ErrorInfo. */
const INVALID_VIEW: Record<SendFileInvalidParam, string> = {
  FileNameInvalid: 'The file name is not valid',
  FileExist: 'File already exists',
  EmptyFile: 'The file is empty',
  InvalidFileContent: 'The file content is not valid base64',
  InvalidSignature: 'The content signature does not match',
  InvalidFileMode: 'The file mode is not valid',
  FileGroupNotExist: 'The file group does not exist',
  FileOwnerNotExist: 'The file owner does not exist',
};

/** `finish` failure codes of the agent (luban §5.9). */
const FINISH_FAILURE: Record<number, { code: string; info: string }> = {
  1: { code: 'FileCreateFailed', info: 'The agent could not create the file' },
  2: { code: 'FileChownFailed', info: 'The agent could not change the owner of the file' },
  3: { code: 'FileChmodFailed', info: 'The agent could not change the mode of the file' },
  4: { code: 'DirectoryCreateFailed', info: 'The agent could not create the target directory' },
};

/** Newest send first, then by id descending; the NextToken is the last row's (created_at, invoke_id). */
const SENDS_ORDER: readonly KeyColumn[] = [
  { column: 'created_at', direction: 'desc', type: 'number' },
  { column: 'invoke_id', direction: 'desc', type: 'string' },
];

export class FileSendService {
  readonly #db: Db;
  readonly #notifier: AgentNotifier;
  readonly #limits: FileSendLimits;
  readonly #regionId: string;

  constructor(db: Db, notifier: AgentNotifier, regionId: string, limits: FileSendLimits) {
    this.#db = db;
    this.#notifier = notifier;
    this.#regionId = regionId;
    this.#limits = limits;
  }

  /** SendFile: stores the send and its records in one transaction, then kicks the connected agents. */
  async send(input: SendFileInput, nowMs: number): Promise<{ InvokeId: string }> {
    const c = checkInput(input, this.#limits);
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([input.name, c.content64, c.targetDir, input.fileOwner, input.fileGroup, c.fileMode]))
      .update(JSON.stringify([input.overwrite, c.timeout, input.description, c.instanceIds, c.tags]))
      .digest('hex');
    const region = this.#regionId.split('-').pop()?.slice(0, 2) ?? 'hz';
    const invokeId = newId('f', region);
    const connected = await this.#notifier.connectedAmong(c.instanceIds);
    const created = await this.#db.transaction().execute(async (tx) => {
      if (input.clientToken) {
        const prior = await tx
          .selectFrom('file_sends')
          .select(['invoke_id', 'request_fingerprint'])
          .where('client_token', '=', input.clientToken)
          .executeTakeFirst();
        if (prior) {
          if (prior.request_fingerprint !== fingerprint) {
            throw new ApiError('IdempotentParameterMismatch', 'ClientToken was used with other parameters.');
          }
          return { invokeId: prior.invoke_id, fresh: false };
        }
      }
      const found = await tx
        .selectFrom('instances')
        .select('instance_id')
        .where('instance_id', 'in', valuesOf(this.#db, c.instanceIds))
        .where('deregistered_at', 'is', null)
        .execute();
      const known = new Set(found.map((r) => r.instance_id));
      const unknown = c.instanceIds.filter((i) => !known.has(i));
      if (unknown.length > 0) {
        throw new ApiError('InvalidInstanceId.NotFound', `The specified instances do not exist: ${unknown.join(', ')}`);
      }
      await tx
        .insertInto('file_sends')
        .values({
          invoke_id: invokeId,
          name: input.name,
          description: input.description,
          content: c.content64,
          content_type: input.contentType,
          target_dir: c.targetDir,
          file_owner: input.fileOwner,
          file_group: input.fileGroup,
          file_mode: c.fileMode,
          overwrite: input.overwrite ? 1 : 0,
          timeout: c.timeout,
          client_token: input.clientToken ?? null,
          request_fingerprint: fingerprint,
          created_at: nowMs,
        })
        .execute();
      await tx
        .insertInto('file_send_instances')
        .values(
          c.instanceIds.map((instanceId) => {
            const up = connected.has(instanceId);
            return {
              invoke_id: invokeId,
              instance_id: instanceId,
              status: up ? 'Pending' : 'Aborted',
              error_code: up ? '' : 'ClientNotOnline',
              error_info: up ? '' : 'the Cloud Assistant agent on this instance is not connected',
              creation_time: nowMs,
              update_time: nowMs,
              start_time: null,
              finish_time: up ? null : nowMs,
            };
          }),
        )
        .execute();
      await saveTags(tx, 'file', invokeId, c.tags);
      return { invokeId, fresh: true };
    });
    if (created.fresh) {
      this.#notifier.kick([...connected], formatKick({ type: 'file', action: 'create', id: invokeId }));
    }
    return { InvokeId: created.invokeId };
  }

  /** Whether a file waits for the instance's next fetch. */
  async hasPendingWork(instanceId: string): Promise<boolean> {
    const row = await this.#db
      .selectFrom('file_send_instances')
      .select('invoke_id')
      .where('instance_id', '=', instanceId)
      .where('status', '=', 'Pending')
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The `file` entries of a task list: every waiting record of the instance (or the one the fetch
   * names), marked Running in the same transaction, so a second fetch never hands a file out twice.
   */
  async tasksFor(instanceId: string, taskId: string | undefined, nowMs: number): Promise<SendFileEntry[]> {
    // Nearly every fetch finds no file: a plain indexed look first, a transaction only when needed.
    if (!(await this.hasPendingWork(instanceId))) {
      return [];
    }
    return this.#db.transaction().execute(async (tx) => {
      let q = tx
        .selectFrom('file_send_instances as r')
        .innerJoin('file_sends as f', 'f.invoke_id', 'r.invoke_id')
        .selectAll('f')
        .where('r.instance_id', '=', instanceId)
        .where('r.status', '=', 'Pending');
      if (taskId !== undefined) {
        q = q.where('r.invoke_id', '=', taskId);
      }
      const rows = await q.orderBy('f.created_at').limit(100).execute();
      if (rows.length === 0) {
        return [];
      }
      await tx
        .updateTable('file_send_instances')
        .set({ status: 'Running', start_time: nowMs, update_time: nowMs })
        .where('instance_id', '=', instanceId)
        .where('status', '=', 'Pending')
        .where(
          'invoke_id',
          'in',
          rows.map((r) => r.invoke_id),
        )
        .execute();
      return rows.map((f) => ({
        task: {
          taskID: f.invoke_id,
          name: f.name,
          destination: f.target_dir,
          content: f.content,
          signature: sendFileSignature(f.content),
          mode: f.file_mode,
          owner: f.file_owner,
          group: f.file_group,
          overwrite: f.overwrite === 1,
          contentType: 'Base64',
          timeout: f.timeout,
        },
        output: {},
      }));
    });
  }

  /** Applies the agent's result; a report for a record that has ended, or is not this agent's, is ignored. */
  async applyReport(instanceId: string, r: SendFileReport, nowMs: number): Promise<'applied' | 'ignored'> {
    const send = await this.#db
      .selectFrom('file_sends')
      .select('name')
      .where('invoke_id', '=', r.taskId)
      .executeTakeFirst();
    if (!send) {
      return 'ignored';
    }
    let patch: Pick<FileSendInstanceTable, 'status' | 'error_code' | 'error_info'>;
    if (r.kind === 'finish') {
      const failure = FINISH_FAILURE[r.errorCode];
      patch =
        r.status === 'Success' || failure === undefined
          ? { status: 'Success', error_code: '', error_info: '' }
          : { status: 'Failed', error_code: failure.code, error_info: `${failure.info}: ${send.name}` };
    } else {
      const code = r.param === 'FileExist' ? 'FileAlreadyExists' : r.param;
      patch = { status: 'Invalid', error_code: code, error_info: `${INVALID_VIEW[r.param]}: ${r.value || send.name}` };
    }
    const res = await this.#db
      .updateTable('file_send_instances')
      .set({ ...patch, finish_time: nowMs, update_time: nowMs })
      .where('invoke_id', '=', r.taskId)
      .where('instance_id', '=', instanceId)
      .where('status', 'not in', ENDED)
      .executeTakeFirst();
    return res.numUpdatedRows > 0n ? 'applied' : 'ignored';
  }

  /**
   * Records that no agent fetched within the delivery window fail with DeliveryTimeout; records
   * handed out but not reported within the send's Timeout fail with Timeout.
   */
  async sweepTimeouts(nowMs: number): Promise<number> {
    const undelivered = await this.#db
      .updateTable('file_send_instances')
      .set({
        status: 'Aborted',
        error_code: 'DeliveryTimeout',
        error_info: `the agent did not fetch the file within ${Math.round(this.#limits.deliveryTimeoutMs / 1000)} s`,
        finish_time: nowMs,
        update_time: nowMs,
      })
      .where('status', '=', 'Pending')
      .where('creation_time', '<=', nowMs - this.#limits.deliveryTimeoutMs)
      .executeTakeFirst();
    const late = await this.#db
      .updateTable('file_send_instances')
      .set({
        status: 'Timeout',
        error_code: 'ExecutionTimeout',
        error_info: 'the agent did not report the file within the timeout',
        finish_time: nowMs,
        update_time: nowMs,
      })
      .where('status', '=', 'Running')
      .where((eb) =>
        eb(
          'start_time',
          '<=',
          eb
            .selectFrom('file_sends as f')
            // A bound value (not a literal, which made each sweep a new statement to prepare), cast
            // because PostgreSQL would otherwise type it as the integer it is subtracted from.
            .select((e) => e(e.cast<number>(e.val(nowMs), 'bigint'), '-', e('f.timeout', '*', 1000)).as('cutoff'))
            .whereRef('f.invoke_id', '=', 'file_send_instances.invoke_id'),
        ),
      )
      .executeTakeFirst();
    return Number(undelivered.numUpdatedRows) + Number(late.numUpdatedRows);
  }

  /** DescribeSendFileResults: sends newest first, each with its records. */
  async describe(f: {
    invokeId?: string;
    instanceId?: string;
    name?: string;
    invocationStatus?: string;
    tags: TagFilter[];
    paging: Paging;
  }) {
    let q = this.#db.selectFrom('file_sends');
    if (f.invokeId) {
      q = q.where('invoke_id', '=', f.invokeId);
    }
    if (f.name) {
      q = q.where('name', '=', f.name);
    }
    if (f.instanceId) {
      const id = f.instanceId;
      q = q.where('invoke_id', 'in', (eb) =>
        eb.selectFrom('file_send_instances').select('invoke_id').where('instance_id', '=', id),
      );
    }
    if (f.tags.length > 0) {
      q = q.where(hasTags('file', 'file_sends.invoke_id', f.tags));
    }
    if (f.invocationStatus) {
      q = q.where(sql<SqlBool>`${sendStatusSql} = ${f.invocationStatus}`);
    }
    const count = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const total = Number(count.n);
    const page = await keysetPage(q.selectAll(), f.paging, SENDS_ORDER, (r) => [r.created_at, r.invoke_id], total);
    const records = await this.#recordsOf(page.rows.map((r) => r.invoke_id));
    const tags = await tagsOf(
      this.#db,
      'file',
      page.rows.map((r) => r.invoke_id),
    );
    return {
      ...page.fields,
      Invocations: {
        Invocation: page.rows.map((r) => {
          const recs = (records.get(r.invoke_id) ?? []).filter((x) => !f.instanceId || x.instance_id === f.instanceId);
          return {
            InvokeId: r.invoke_id,
            Name: r.name,
            Description: r.description,
            Content: r.content,
            ContentType: 'Base64',
            TargetDir: r.target_dir,
            FileOwner: r.file_owner,
            FileGroup: r.file_group,
            FileMode: r.file_mode,
            Overwrite: String(r.overwrite === 1),
            CreationTime: isoTime(r.created_at),
            InvocationStatus: sendStatusOf((records.get(r.invoke_id) ?? []).map((x) => x.status)),
            VmCount: (records.get(r.invoke_id) ?? []).length,
            Tags: tagView(tags.get(r.invoke_id)),
            InvokeInstances: {
              InvokeInstance: recs.map((x) => ({
                InstanceId: x.instance_id,
                InvocationStatus: x.status,
                ErrorCode: x.error_code,
                ErrorInfo: x.error_info,
                CreationTime: isoTime(x.creation_time),
                StartTime: isoTime(x.start_time),
                FinishTime: isoTime(x.finish_time),
                UpdateTime: isoTime(x.update_time),
              })),
            },
          };
        }),
      },
    };
  }

  async #recordsOf(invokeIds: string[]): Promise<Map<string, FileSendInstanceTable[]>> {
    const out = new Map<string, FileSendInstanceTable[]>();
    for (let i = 0; i < invokeIds.length; i += 500) {
      const chunk = invokeIds.slice(i, i + 500);
      if (chunk.length === 0) {
        continue;
      }
      const rows = await this.#db
        .selectFrom('file_send_instances')
        .selectAll()
        .where('invoke_id', 'in', chunk)
        .orderBy('instance_id')
        .execute();
      for (const r of rows) {
        appendTo(out, r.invoke_id, r);
      }
    }
    return out;
  }
}
