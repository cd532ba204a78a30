// The invocation listings: DescribeInvocations (invocations with their records), and
// DescribeInvocationResults (one row per execution, or with IncludeHistory one per run). Each
// filters, counts and pages in SQL (keysetPage).
import { sql } from 'kysely';
import type { InvocationInstanceTable, InvocationRunTable, InvocationTable } from '../store/index.js';
import { ApiError, appendTo, invalid, isoTime } from '../shared/index.js';
import { checkOutputEncoding } from './command-content.js';
import { decodeStored, type InvocationContext } from './invocation-context.js';
import {
  detailedStatusesOf,
  type ExecutionStatus,
  instanceInvokeStatus,
  recordStatus,
  type RecordStatus,
} from './invocation-status.js';
import { COUNTER_COLUMNS, countsOf } from './invocation-counters.js';
import { keysetPage, type KeyColumn, type Paging } from './paging.js';
import { runsSeparately } from './schedules.js';
import { hasTags, tagsOf, tagView, type Tag, type TagFilter } from './tags.js';

export interface DescribeInvocationsFilter {
  invokeId?: string;
  commandId?: string;
  commandName?: string;
  commandType?: string;
  instanceId?: string;
  invokeStatus?: string;
  repeatMode?: string;
  timed?: boolean;
  tags?: TagFilter[];
  includeOutput: boolean;
  contentEncoding: string;
  paging: Paging;
}

export interface DescribeResultsFilter {
  invokeId?: string;
  instanceId?: string;
  commandId?: string;
  invokeRecordStatus?: string;
  tags?: TagFilter[];
  contentEncoding: string;
  paging: Paging;
  includeHistory?: boolean;
}

/** Newest invocation first; the NextToken is the last row's (created_at, invoke_id). */
const INVOCATIONS_ORDER: readonly KeyColumn[] = [
  { column: 'created_at', direction: 'desc', type: 'number' },
  { column: 'invoke_id', direction: 'desc', type: 'string' },
];

/** Newest execution first, then by invocation, then by instance (ascending). */
const RESULTS_ORDER: readonly KeyColumn[] = [
  { column: 'r.creation_time', direction: 'desc', type: 'number' },
  { column: 'r.invoke_id', direction: 'desc', type: 'string' },
  { column: 'r.instance_id', direction: 'asc', type: 'string' },
];

/** Newest run first, then by instance (ascending). */
const RUNS_ORDER: readonly KeyColumn[] = [
  { column: 'run_start', direction: 'desc', type: 'number' },
  { column: 'instance_id', direction: 'asc', type: 'string' },
];

function encodeOutput(output: Buffer, encoding: string): string {
  return encoding === 'PlainText' ? output.toString('utf8') : output.toString('base64');
}

/** What DescribeInvocations shows of an execution record; the output only when asked for. */
type InvocationRecordView = Pick<
  InvocationInstanceTable,
  | 'invoke_id'
  | 'instance_id'
  | 'status'
  | 'exit_code'
  | 'dropped'
  | 'error_code'
  | 'error_info'
  | 'repeats'
  | 'creation_time'
  | 'update_time'
  | 'start_time'
  | 'finish_time'
  | 'stop_time'
> & { output?: Buffer };

/** The columns a result row shows, shared by an execution record and one run of it. */
type ResultRow = Pick<
  InvocationRunTable,
  | 'invoke_id'
  | 'instance_id'
  | 'status'
  | 'output'
  | 'dropped'
  | 'error_code'
  | 'error_info'
  | 'exit_code'
  | 'start_time'
  | 'finish_time'
  | 'stop_time'
>;

/** One DescribeInvocationResults row: an execution (`repeats` so far) or one run (its number). */
function resultView(
  r: ResultRow,
  repeats: number,
  inv: { commandId: string; username: string },
  tags: Map<string, Tag[]>,
  encoding: 'PlainText' | 'Base64',
) {
  return {
    CommandId: inv.commandId,
    Dropped: r.dropped,
    ErrorCode: r.error_code,
    ErrorInfo: r.error_info,
    ExitCode: r.exit_code ?? undefined,
    FinishedTime: isoTime(r.finish_time),
    InstanceId: r.instance_id,
    InvocationStatus: r.status,
    InvokeId: r.invoke_id,
    InvokeRecordStatus: recordStatus(r.status as ExecutionStatus) satisfies RecordStatus,
    Output: encodeOutput(r.output, encoding),
    Repeats: repeats,
    StartTime: isoTime(r.start_time),
    StopTime: isoTime(r.stop_time),
    Username: inv.username,
    Tags: tagView(tags.get(r.invoke_id)),
  };
}

export class InvocationListings {
  readonly #ctx: InvocationContext;

  constructor(ctx: InvocationContext) {
    this.#ctx = ctx;
  }

  async describeInvocations(f: DescribeInvocationsFilter) {
    const encoding = checkOutputEncoding(f.contentEncoding);
    let q = this.#ctx.db.selectFrom('invocations');
    if (f.invokeId) {
      q = q.where('invoke_id', '=', f.invokeId);
    }
    if (f.commandId) {
      q = q.where('command_id', '=', f.commandId);
    }
    if (f.commandName) {
      q = q.where('command_name', '=', f.commandName);
    }
    if (f.commandType) {
      q = q.where('command_type', '=', f.commandType);
    }
    if (f.invokeStatus) {
      q = q.where('status', '=', f.invokeStatus);
    }
    if (f.repeatMode) {
      q = q.where('repeat_mode', '=', f.repeatMode);
    }
    if (f.timed !== undefined) {
      q = q.where('timed', '=', f.timed ? 1 : 0);
    }
    if (f.instanceId) {
      const id = f.instanceId;
      q = q.where('invoke_id', 'in', (eb) =>
        eb.selectFrom('invocation_instances').select('invoke_id').where('instance_id', '=', id),
      );
    }
    if (f.tags && f.tags.length > 0) {
      q = q.where(hasTags('invocation', 'invocations.invoke_id', f.tags));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const { rows: page, fields } = await keysetPage(
      q.selectAll(),
      f.paging,
      INVOCATIONS_ORDER,
      (r) => [r.created_at, r.invoke_id],
      Number(n),
    );
    const ids = page.map((i) => i.invoke_id);
    const [records, tags] = await Promise.all([
      this.#recordsOf(ids, f.includeOutput),
      tagsOf(this.#ctx.db, 'invocation', ids),
    ]);
    return {
      ...fields,
      Invocations: {
        Invocation: page.map((inv) =>
          this.#invocationView(inv, records.get(inv.invoke_id) ?? [], tags.get(inv.invoke_id) ?? [], {
            includeOutput: f.includeOutput,
            encoding,
          }),
        ),
      },
    };
  }

  #invocationView(
    inv: InvocationTable,
    recs: InvocationRecordView[],
    tags: Tag[],
    f: { includeOutput: boolean; encoding: 'PlainText' | 'Base64' },
  ) {
    const status = inv.status;
    return {
      CommandContent: f.encoding === 'PlainText' ? decodeStored(inv.command_content) : inv.command_content,
      CommandDescription: inv.command_description,
      CommandId: inv.command_id,
      CommandName: inv.command_name,
      CommandType: inv.command_type,
      CreationTime: isoTime(inv.created_at),
      Frequency: inv.frequency,
      InvocationStatus: status,
      InvokeStatus: status === 'PartialFailed' ? 'Finished' : status,
      InvokeId: inv.invoke_id,
      Parameters: inv.parameters,
      RepeatMode: inv.repeat_mode,
      Timed: inv.timed === 1,
      Timeout: inv.timeout,
      Username: inv.username,
      WorkingDir: inv.working_dir,
      Tags: tagView(tags),
      InvokeInstances: {
        InvokeInstance: recs.map((r) => ({
          CreationTime: isoTime(r.creation_time),
          Dropped: r.dropped,
          ErrorCode: r.error_code,
          ErrorInfo: r.error_info,
          ExitCode: r.exit_code ?? undefined,
          FinishTime: isoTime(r.finish_time),
          InstanceId: r.instance_id,
          InstanceInvokeStatus: instanceInvokeStatus(r.status as ExecutionStatus),
          InvocationStatus: r.status,
          Output: f.includeOutput && r.output ? encodeOutput(r.output, f.encoding) : '',
          Repeats: r.repeats,
          StartTime: isoTime(r.start_time),
          StopTime: isoTime(r.stop_time),
          Timed: inv.timed === 1,
          UpdateTime: isoTime(r.update_time),
        })),
      },
    };
  }

  async describeResults(f: DescribeResultsFilter) {
    const encoding = checkOutputEncoding(f.contentEncoding);
    if (f.includeHistory === true) {
      return this.#describeRuns({ ...f, encoding });
    }
    let q = this.#ctx.db
      .selectFrom('invocation_instances as r')
      .innerJoin('invocations as i', 'i.invoke_id', 'r.invoke_id');
    if (f.invokeId) {
      q = q.where('r.invoke_id', '=', f.invokeId);
    }
    if (f.instanceId) {
      q = q.where('r.instance_id', '=', f.instanceId);
    }
    if (f.commandId) {
      q = q.where('i.command_id', '=', f.commandId);
    }
    if (f.invokeRecordStatus) {
      const statuses = detailedStatusesOf(f.invokeRecordStatus);
      q = statuses.length > 0 ? q.where('r.status', 'in', statuses) : q.where(sql<boolean>`1 = 0`);
    }
    if (f.tags && f.tags.length > 0) {
      q = q.where(hasTags('invocation', 'r.invoke_id', f.tags));
    }
    // One invocation, at most filtered by record status: its counters hold the count, which
    // counting its rows would read all of on every page (10,000 for a fan-out to 10,000).
    const n =
      f.invokeId && !f.instanceId && !f.commandId && !(f.tags && f.tags.length > 0)
        ? await this.#recordCount(f.invokeId, f.invokeRecordStatus)
        : (await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;
    const { rows: page, fields } = await keysetPage(
      q.selectAll('r').select(['i.command_id', 'i.username']),
      f.paging,
      RESULTS_ORDER,
      (r) => [r.creation_time, r.invoke_id, r.instance_id],
      Number(n),
    );
    const tags = await tagsOf(
      this.#ctx.db,
      'invocation',
      page.map((r) => r.invoke_id),
    );
    return {
      Invocation: {
        ...fields,
        InvocationResults: {
          InvocationResult: page.map((r) =>
            resultView(r, r.repeats, { commandId: r.command_id, username: r.username }, tags, encoding),
          ),
        },
      },
    };
  }

  /** How many records an invocation has (in one record status), from its counters; 0 when there is no such invocation. */
  async #recordCount(invokeId: string, recordStatus: string | undefined): Promise<number> {
    const row = await this.#ctx.db
      .selectFrom('invocations')
      .select(COUNTER_COLUMNS)
      .where('invoke_id', '=', invokeId)
      .executeTakeFirst();
    if (!row) {
      return 0;
    }
    const counts = countsOf(row);
    if (recordStatus) {
      return Object.hasOwn(counts, recordStatus) ? counts[recordStatus as RecordStatus] : 0;
    }
    return Object.values(counts).reduce((a, b) => a + b, 0);
  }

  /**
   * DescribeInvocationResults with IncludeHistory=true: every run of a Period or EveryReboot
   * invocation, newest first, one row per run (`Repeats` is the run's number on its instance).
   * Without it, each instance has one row: the execution, with the number of runs so far and the
   * latest run's outcome.
   */
  async #describeRuns(f: {
    invokeId?: string;
    instanceId?: string;
    invokeRecordStatus?: string;
    tags?: TagFilter[];
    encoding: 'PlainText' | 'Base64';
    paging: Paging;
  }) {
    const inv = f.invokeId
      ? await this.#ctx.db
          .selectFrom('invocations')
          .select(['invoke_id', 'command_id', 'username', 'repeat_mode'])
          .where('invoke_id', '=', f.invokeId)
          .executeTakeFirst()
      : undefined;
    if (!f.invokeId) {
      throw invalid('IncludeHistory', 'true needs the InvokeId of a Period or EveryReboot invocation.');
    }
    if (!inv) {
      throw new ApiError('InvalidInvokeId.NotFound', `The specified invocation does not exist: ${f.invokeId}`);
    }
    if (!runsSeparately(inv.repeat_mode)) {
      throw invalid(
        'IncludeHistory',
        `true applies to Period and EveryReboot invocations; ${inv.invoke_id} is ${inv.repeat_mode}.`,
      );
    }
    let q = this.#ctx.db.selectFrom('invocation_runs').where('invoke_id', '=', inv.invoke_id);
    if (f.instanceId) {
      q = q.where('instance_id', '=', f.instanceId);
    }
    if (f.invokeRecordStatus) {
      const statuses = detailedStatusesOf(f.invokeRecordStatus);
      q = statuses.length > 0 ? q.where('status', 'in', statuses) : q.where(sql<boolean>`1 = 0`);
    }
    if (f.tags && f.tags.length > 0) {
      q = q.where(hasTags('invocation', 'invocation_runs.invoke_id', f.tags));
    }
    const { n } = await q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const { rows: page, fields } = await keysetPage(
      q.selectAll(),
      f.paging,
      RUNS_ORDER,
      (r) => [r.run_start, r.instance_id],
      Number(n),
    );
    const tags = await tagsOf(this.#ctx.db, 'invocation', [inv.invoke_id]);
    return {
      Invocation: {
        ...fields,
        InvocationResults: {
          InvocationResult: page.map((r) =>
            resultView(r, r.repeat_no, { commandId: inv.command_id, username: inv.username }, tags, f.encoding),
          ),
        },
      },
    };
  }

  /** The records of a page of invocations; output is read only when it will be shown. */
  async #recordsOf(invokeIds: string[], withOutput: boolean): Promise<Map<string, InvocationRecordView[]>> {
    const m = new Map<string, InvocationRecordView[]>();
    if (invokeIds.length === 0) {
      return m;
    }
    const rows = await this.#ctx.db
      .selectFrom('invocation_instances')
      .select([
        'invoke_id',
        'instance_id',
        'status',
        'exit_code',
        'dropped',
        'error_code',
        'error_info',
        'repeats',
        'creation_time',
        'update_time',
        'start_time',
        'finish_time',
        'stop_time',
      ])
      .$if(withOutput, (q) => q.select('output'))
      .where('invoke_id', 'in', invokeIds)
      .orderBy('invoke_id')
      .orderBy('instance_id')
      .execute();
    for (const r of rows) {
      appendTo(m, r.invoke_id, r);
    }
    return m;
  }
}
