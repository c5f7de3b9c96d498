// Where each tuple ends in bare COPY binary tuples held whole in memory (an int16 field count, then
// per field an int32 length, -1 for NULL, and that many bytes): tests split snapshot files with it.

/** The offsets just after every tuple of `data`; throws on bytes that are not whole tuples. */
export function binaryTupleEnds(data: Buffer): number[] {
  const ends: number[] = [];
  let at = 0;
  while (at < data.length) {
    const fields = data.readInt16BE(at);
    if (fields < 0) throw new Error(`field count ${fields} at byte ${at}`);
    at += 2;
    for (let f = 0; f < fields; f++) {
      const length = data.readInt32BE(at);
      at += 4 + Math.max(length, 0);
    }
    if (at > data.length) throw new Error('the last tuple is cut short');
    ends.push(at);
  }
  return ends;
}
