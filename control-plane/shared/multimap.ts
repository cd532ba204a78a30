// Grouping rows by a key without copying the group on every row (a fan-out lists 10,000 records
// of one invocation: copying the array per row made that listing quadratic).

/** Appends `value` to the list `map` holds under `key`, creating the list on first use. */
export function appendTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) {
    list.push(value);
  } else {
    map.set(key, [value]);
  }
}
