/* store_internal: what the store's files (store*.c) share and nobody else
 * calls. */
#ifndef PS_STORE_INTERNAL_H
#define PS_STORE_INTERNAL_H

#include "store.h"

/* Opens the ingest transaction if none is open. */
void store_begin(struct store *s);
/* Keeps the first failure (what, and SQLite's message) as the sticky error; -1. */
int  store_fail(struct store *s, const char *what);

/* store_ingest.c: the batched per-event tables. */
int  store_ingest_prepare(struct store *s);
void store_ingest_finalize(struct store *s);
/* Writes the rows waiting; before every commit. */
int  store_ingest_flush(struct store *s);

#endif
