// agent/tasks: fetches the task list and runs one-shot tasks with the stock lifecycle reports.
export { TaskEngine, type FetchOptions, type TaskEngineOptions } from './task-engine.js';
