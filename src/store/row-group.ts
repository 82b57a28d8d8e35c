/**
 * Rows in a DuckDB row group (its default row_group_size). An INSERT that fills a row group
 * writes it into the file as it goes, compressed; what is left at its commit is a partial
 * group, which the next checkpoint merges with the groups after it and compresses again,
 * letting the blocks written first go. A replay flushing every 131,072 sessions, with DuckDB
 * on two threads, had most of its table compressed twice: the checkpoint at close took
 * 0.21-0.25 s for the synthetic capture's 250,828 sessions and 1.11 s for the 20M-packet
 * capture's 2M (`instance.closeSync`, timed), and 17 of the first file's 54 blocks were free.
 * Flushing whole groups alone moved most of that into the last commit (0.87 s): each of
 * DuckDB's threads fills groups of its own, and their remainders are partial groups too. So a
 * bulk load (SessionStoreOptions.bulk) commits whole row groups on one DuckDB thread when it
 * flushes for size; a partial group only at close() and when the flush interval comes first
 * (sessions arriving slowly): the 20M-packet `replay -q --db` 11.41 -> 10.35 s and 12.67 ->
 * 12.89 s, CPU 17.2 -> 13.3 s and 19.0 -> 16.5 s (two pairs of alternating rounds), its file
 * 106 -> 63 MB, the same rows.
 */
export const ROW_GROUP_ROWS = 122_880;
