// PostgreSQL's COPY binary format (also YugabyteDB's): the header and trailer that frame a COPY.
// Snapshot files hold bare tuples (an int16 field count, then per field an int32 length, -1 for NULL,
// and that many bytes); the export drops the framing and each batch is framed again when loaded.

/** The 11-byte signature, int32 flags (0) and int32 header extension length (0). */
export const BINARY_COPY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
/** A field count of -1 ends COPY binary data. */
export const BINARY_COPY_TRAILER = Buffer.from([0xff, 0xff]);
