// The store phase name of `import data to target`, on its own so that `import data status` can read
// the phase without loading the import pipeline (and its SQL parser).

/** The store phase of `import data to target`. */
export const IMPORT_DATA_PHASE = 'import-data-to-target';
