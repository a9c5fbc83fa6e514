/* The bundled journal backend (R3).
 *
 * ON-DISK FORMAT (version 1)
 * ==========================
 * A journal at PATH is two files: PATH (the log) and PATH.snap (the
 * snapshot, absent until the first compaction). Temporary file during a
 * compaction: PATH.snap.tmp (ignored and overwritten if found). All integers
 * are little-endian. Both files are a sequence of frames:
 *
 *   frame   := u32 length | u32 crc32c | payload[length]     (length >= 1)
 *
 * crc32c is CRC-32C (Castagnoli) of the payload bytes only.
 *
 * The first frame of each file is its header (28 bytes in all):
 *
 *   header  := magic[8] | u32 format_version (1) | u64 generation
 *   magic   := "HUBCJLOG" in the log, "HUBCJSNP" in the snapshot
 *
 * Every other frame's payload starts with a record type byte:
 *
 *   txn     := u8 0x01 | u32 n_ops | op * n_ops     (log and snapshot)
 *   end     := u8 0x02 | u64 n_records              (last frame of a snapshot)
 *   op      := put | del
 *   put     := u8 0x01 | u8 kind | i64 id | u32 len | bytes[len]
 *   del     := u8 0x02 | u8 kind | i64 id
 *
 * kind is an enum hubc_record_kind (1..255 accepted); bytes are the store's
 * record, opaque here. A txn must use exactly its payload.
 *
 * Log: header, then one txn frame per committed transaction, written with
 * one write() at commit (ops are buffered between begin and commit; rollback
 * drops the buffer). fsync policy: EVERY_COMMIT fdatasync()s each commit,
 * INTERVAL when fsync_interval_ms have passed since the last one, NEVER
 * leaves it to the OS (close still flushes unless NEVER).
 *
 * Snapshot: header, txn frames holding only puts (one per live record,
 * batched ~1 MiB per frame, sorted by kind then id), then the end frame
 * whose n_records must equal the puts seen. A snapshot is never appended
 * to, so any damage in it (bad frame, missing end frame, data after it) is
 * HUBC_ECORRUPT.
 *
 * Replay (load): every op of the snapshot, then every op of the log, in
 * file order; a later put of a (kind, id) replaces an earlier one, del
 * removes it.
 *
 * Generations: a snapshot of generation g+1 holds everything of the
 * snapshot of generation g plus the log of generation g. The log's header
 * names the generation of the snapshot it continues:
 *   log gen == snapshot gen (no snapshot: 0)  normal, replay both;
 *   log gen <  snapshot gen                   the log was already compacted
 *                                             (crash after the rename): it
 *                                             is reset to an empty log;
 *   log gen >  snapshot gen                   the snapshot is missing or
 *                                             older: HUBC_ECORRUPT.
 *
 * Recovery at open: a log frame that is incomplete, has length 0 or a bad
 * CRC is a torn tail when no valid frame starts anywhere after it; the log
 * is then truncated at its offset (hubc_journal_info.torn_bytes reports how
 * much). If a valid frame follows, the record is corrupt: HUBC_ECORRUPT
 * with the file and the byte offset. A frame with a good CRC but a
 * malformed txn is HUBC_ECORRUPT; an unknown record type or format version
 * is HUBC_EVERSION.
 *
 * A new log: the header is written only into an empty log (creation, or
 * the reset after a compaction, whose log is then all in the snapshot) and
 * synced before any transaction is appended. So a log that never held a
 * transaction the snapshot lacks is 0 bytes, or 1..27 bytes that are the
 * start of the header this open would write (magic, version, the
 * snapshot's generation): both are new. Anything else that lacks a valid
 * header (zeros of any length, other bytes, a full header that does not
 * check) is HUBC_ECORRUPT at offset 0, never reset.
 *
 * A failed commit: the frame is cut off again (ftruncate); if that fails,
 * it is overwritten with zeros (a torn tail at the next open), and if that
 * fails too, both are retried at close. A failed fdatasync also stops the
 * handle from writing: after one, the page cache may have dropped data
 * that a later sync would not report (the host reopens the journal).
 *
 * Read-only open (options v2): the log is opened O_RDONLY with a shared
 * lock and nothing is ever written: no header for a new log, a stale log
 * is ignored rather than reset, a torn tail is left in place (and not
 * read), the temporary file is not removed, and begin and compaction are
 * refused.
 *
 * Compaction (hubc_journal_compact, or automatically at commit when the log
 * exceeds auto_compact_bytes and twice the snapshot): replay snapshot + log
 * (both mmapped) into a hash map (kind, id) -> bytes in the mapping, write
 * the live records to PATH.snap.tmp with generation g+1, fsync it, rename
 * it over PATH.snap, fsync the directory, then truncate the log and write
 * an empty log header of generation g+1 and fdatasync it. A crash before the
 * rename leaves the old pair; after it, the old log is recognised as stale
 * by its generation (it would also replay correctly, since puts and dels
 * are last-wins and idempotent, but it is simply not needed).
 *
 * The log is locked with flock(LOCK_EX) while open (LOCK_SH read-only): a
 * second open of the same journal fails with HUBC_EBUSY unless both are
 * read-only. A handle serves one store at a time: a second store's load
 * fails with HUBC_EBUSY until the first is closed.
 */
#define _DEFAULT_SOURCE /* flock, MAP_POPULATE, madvise */

#include "journal/journal_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "journal/crc32c.h"
#include "util/error.h"
#include "util/version.h"

#define FRAME_HDR 8u
#define HDR_PAYLOAD 20u
#define HDR_FRAME (FRAME_HDR + HDR_PAYLOAD)
#define FORMAT_VERSION 1u
#define REC_TXN 0x01u
#define REC_END 0x02u
#define OP_PUT 0x01u
#define OP_DEL 0x02u
#define TXN_FIXED 5u  /* type + n_ops */
#define PUT_FIXED 14u /* op + kind + id + len */
#define DEL_FIXED 10u /* op + kind + id */
#define END_PAYLOAD 9u
#define LOG_MAGIC "HUBCJLOG"
#define SNAP_MAGIC "HUBCJSNP"
#define DEFAULT_AUTO_COMPACT (64ull << 20)
#define DEFAULT_INTERVAL_MS 1000u
#define SNAP_BATCH (1u << 20)          /* payload bytes per snapshot frame */
#define SNAP_FLUSH (4u << 20)          /* write the snapshot buffer past this */
#define BUF_KEEP (16u << 20)           /* txn buffer kept between commits */
#define RESYNC_BUDGET (256ull << 20)   /* CRC bytes spent proving a torn tail */
#define RESYNC_WALK (64ull << 20)      /* transaction bytes walked for the same proof */

struct map {
  const unsigned char *p;
  size_t len;
};

/* What the validated frames hold: the loader sizes its tables from it and
 * compaction its index (advice only: a log may repeat keys). */
struct tally {
  uint64_t ops;        /* puts and dels */
  uint64_t puts[256];  /* by record kind */
  uint64_t bytes[256]; /* record bytes of those puts */
};

struct hubc_journal {
  char *path;      /* the log */
  char *snap_path; /* path + ".snap" */
  char *tmp_path;  /* path + ".snap.tmp" */
  int fd;          /* the log, O_RDWR (read-only: O_RDONLY), flock'ed */
  int read_only;
  int policy;
  unsigned int interval_ms;
  uint64_t auto_compact;
  uint64_t gen;       /* generation of the snapshot and of the log */
  uint64_t log_size;  /* valid bytes of the log */
  uint64_t snap_size; /* 0: no snapshot */
  uint64_t torn_bytes;
  uint64_t compactions;
  uint64_t compact_failures;
  uint64_t compact_retry_at; /* auto compaction waits for this log size */
  const char *broken;        /* why nothing more is written (NULL: writable) */
  uint64_t undo_len;         /* bytes of a failed commit still to remove at log_size */
  atomic_int attached;       /* a store has loaded and not closed */
  int dirty;                 /* written but not fdatasync'ed */
  struct timespec last_sync;
  /* mappings made by open (validated), consumed by the first load */
  struct map log_map, snap_map;
  int maps_ready;
  struct tally tally; /* of the files as validated at open, ops kept current */
  /* the transaction being built: a complete frame once committed */
  int in_txn;
  unsigned char *buf;
  size_t buf_len, buf_cap;
  uint32_t n_ops;
  hubc_persist persist;
};

/* ---- little helpers --------------------------------------------------- */

int (*hubc__journal_fault)(const char *step);

/* Whether the test hook makes `step` fail (errno set to what it returned). */
static int faulted(const char *step) {
  int e = hubc__journal_fault ? hubc__journal_fault(step) : 0;
  if (e) errno = e;
  return e != 0;
}

static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p) {
  return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)v;
  p[1] = (unsigned char)(v >> 8);
  p[2] = (unsigned char)(v >> 16);
  p[3] = (unsigned char)(v >> 24);
}

static void wr64(unsigned char *p, uint64_t v) {
  wr32(p, (uint32_t)v);
  wr32(p + 4, (uint32_t)(v >> 32));
}

static char *str_concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);
  if (!s) return NULL;
  memcpy(s, a, la);
  memcpy(s + la, b, lb + 1);
  return s;
}

static unsigned long long ull(uint64_t v) { return (unsigned long long)v; }

/* fdatasync (data) or fsync (data and metadata), retried on EINTR. */
static int sync_fd(int fd, int metadata) {
#ifdef HUBC_FUZZING
  (void)fd;
  (void)metadata;
  return 0;
#else
  int rc;
  do {
    rc = metadata ? fsync(fd) : fdatasync(fd);
  } while (rc != 0 && errno == EINTR);
  return rc;
#endif
}

/* fsyncs the directory holding `path` so a rename or creation is durable. */
static int sync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir;
  if (!slash) {
    dir = str_concat(".", "");
  } else if (slash == path) {
    dir = str_concat("/", "");
  } else {
    size_t n = (size_t)(slash - path);
    dir = malloc(n + 1);
    if (dir) {
      memcpy(dir, path, n);
      dir[n] = '\0';
    }
  }
  if (!dir) {
    errno = ENOMEM;
    return -1;
  }
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd < 0) return -1;
  int rc = sync_fd(fd, 1);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

static int pwrite_all(int fd, const unsigned char *p, size_t n, uint64_t off) {
  while (n > 0) {
    size_t chunk = n > (size_t)1 << 30 ? (size_t)1 << 30 : n;
    ssize_t w = pwrite(fd, p, chunk, (off_t)off);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (w == 0) {
      errno = EIO;
      return -1;
    }
    p += w;
    n -= (size_t)w;
    off += (uint64_t)w;
  }
  return 0;
}

static void now_mono(struct timespec *ts) {
  if (clock_gettime(CLOCK_MONOTONIC, ts) != 0) {
    ts->tv_sec = 0;
    ts->tv_nsec = 0;
  }
}

static uint64_t ms_since(const struct timespec *then) {
  struct timespec now;
  now_mono(&now);
  int64_t ms = ((int64_t)now.tv_sec - (int64_t)then->tv_sec) * 1000 +
               ((int64_t)now.tv_nsec - (int64_t)then->tv_nsec) / 1000000;
  return ms < 0 ? 0 : (uint64_t)ms;
}

static void unmap(struct map *m) {
  if (m->p) munmap((void *)(uintptr_t)m->p, m->len);
  m->p = NULL;
  m->len = 0;
}

/* Maps the first `size` bytes of fd read-only (size 0: nothing). */
static int map_fd(struct map *m, int fd, uint64_t size, const char *name) {
  m->p = NULL;
  m->len = 0;
  if (size == 0) return 0;
  if (size > (uint64_t)SIZE_MAX)
    return hubc__err(HUBC_ENOMEM, "journal %s: %llu bytes do not fit in the address space",
                     name, ull(size));
  int flags = MAP_PRIVATE;
#ifdef MAP_POPULATE
  flags |= MAP_POPULATE;
#endif
  void *p = mmap(NULL, (size_t)size, PROT_READ, flags, fd, 0);
  if (p == MAP_FAILED)
    return hubc__err(HUBC_EIO, "journal %s: cannot map %llu bytes: %s", name, ull(size),
                     strerror(errno));
#ifdef MADV_SEQUENTIAL
  (void)madvise(p, (size_t)size, MADV_SEQUENTIAL);
#endif
  m->p = p;
  m->len = (size_t)size;
  return 0;
}

static int map_path(struct map *m, const char *path, uint64_t size) {
  m->p = NULL;
  m->len = 0;
  if (size == 0) return 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return hubc__err(HUBC_EIO, "journal %s: cannot open: %s", path, strerror(errno));
  int rc = map_fd(m, fd, size, path);
  close(fd);
  return rc;
}

/* ---- frames and records ------------------------------------------------ */

/* Why the frame at off is bad, or NULL when it is a complete frame with
 * length >= 1 and a matching CRC (its length in *len). */
static const char *frame_problem(const unsigned char *p, uint64_t size, uint64_t off,
                                 uint32_t *len, char *why, size_t why_size) {
  if (size - off < FRAME_HDR) {
    snprintf(why, why_size, "frame header cut short (%llu of %u bytes)", ull(size - off),
             FRAME_HDR);
    return why;
  }
  uint32_t n = rd32(p + off);
  if (n == 0) return "frame length is 0";
  if ((uint64_t)n > size - off - FRAME_HDR) {
    snprintf(why, why_size, "frame length %u runs past the end of the file (%llu bytes left)",
             n, ull(size - off - FRAME_HDR));
    return why;
  }
  uint32_t stored = rd32(p + off + 4);
  uint32_t actual = hubc__crc32c(p + off + FRAME_HDR, n);
  if (stored != actual) {
    snprintf(why, why_size, "checksum mismatch (stored 0x%08x, computed 0x%08x, length %u)",
             stored, actual, n);
    return why;
  }
  *len = n;
  return NULL;
}

/* Called for each op of a txn. */
typedef int (*op_fn)(void *ctx, unsigned int op, unsigned int kind, int64_t id,
                     const unsigned char *bytes, uint32_t len);

/* Walks the ops of a txn payload (type byte included). Returns 0, -1 when
 * malformed (*why says how, *where the offset inside the payload), or what
 * fn returned. */
static int walk_txn(const unsigned char *pl, uint32_t len, op_fn fn, void *ctx,
                    uint32_t *n_ops_out, struct tally *t, const char **why, uint32_t *where) {
  if (len < TXN_FIXED) {
    *why = "transaction record shorter than its 5-byte header";
    *where = 0;
    return -1;
  }
  uint32_t n_ops = rd32(pl + 1);
  uint32_t pos = TXN_FIXED;
  for (uint32_t i = 0; i < n_ops; i++) {
    *where = pos;
    if (len - pos < DEL_FIXED) {
      *why = "operation cut short by the end of the record";
      return -1;
    }
    unsigned int op = pl[pos];
    unsigned int kind = pl[pos + 1];
    int64_t id = (int64_t)rd64(pl + pos + 2);
    if (kind == 0) {
      *why = "record kind 0";
      return -1;
    }
    if (t) t->ops++;
    if (op == OP_DEL) {
      if (fn) {
        int rc = fn(ctx, op, kind, id, NULL, 0);
        if (rc) return rc;
      }
      pos += DEL_FIXED;
    } else if (op == OP_PUT) {
      if (len - pos < PUT_FIXED) {
        *why = "put operation cut short by the end of the record";
        return -1;
      }
      uint32_t blen = rd32(pl + pos + 10);
      if (blen > len - pos - PUT_FIXED) {
        *why = "put length runs past the end of the record";
        return -1;
      }
      if (t) {
        t->puts[kind]++;
        t->bytes[kind] += blen;
      }
      if (fn) {
        int rc = fn(ctx, op, kind, id, pl + pos + PUT_FIXED, blen);
        if (rc) return rc;
      }
      pos += PUT_FIXED + blen;
    } else {
      *why = "unknown operation code";
      return -1;
    }
  }
  if (pos != len) {
    *where = pos;
    *why = "bytes left over after the last operation";
    return -1;
  }
  if (n_ops_out) *n_ops_out = n_ops;
  return 0;
}

/* Checks the header frame of a mapped file; *gen receives its generation. */
static int check_header(const char *name, const unsigned char *p, uint64_t size,
                        const char *magic, const char *what, uint64_t *gen) {
  if (size < HDR_FRAME)
    return hubc__err(HUBC_ECORRUPT,
                     "journal %s: corrupt header at offset 0: the file has %llu bytes, fewer "
                     "than the %u-byte header (not a hubcontacts %s, or truncated)",
                     name, ull(size), HDR_FRAME, what);
  uint32_t len = rd32(p);
  if (len < 12 || memcmp(p + FRAME_HDR, magic, 8) != 0)
    return hubc__err(HUBC_ECORRUPT,
                     "journal %s: corrupt header at offset 0: magic \"%s\" not found "
                     "(not a hubcontacts %s)",
                     name, magic, what);
  if (len > size - FRAME_HDR || rd32(p + 4) != hubc__crc32c(p + FRAME_HDR, len))
    return hubc__err(HUBC_ECORRUPT, "journal %s: corrupt header at offset 0: checksum mismatch",
                     name);
  uint32_t version = rd32(p + FRAME_HDR + 8);
  if (version != FORMAT_VERSION)
    return hubc__err(HUBC_EVERSION,
                     "journal %s: format version %u (header, offset 8) is not supported; this "
                     "library reads version %u",
                     name, version, FORMAT_VERSION);
  if (len != HDR_PAYLOAD)
    return hubc__err(HUBC_ECORRUPT,
                     "journal %s: corrupt header at offset 0: length %u, expected %u", name, len,
                     HDR_PAYLOAD);
  *gen = rd64(p + FRAME_HDR + 12);
  return 0;
}

static void make_header(unsigned char out[HDR_FRAME], const char *magic, uint64_t gen) {
  unsigned char *pl = out + FRAME_HDR;
  memcpy(pl, magic, 8);
  wr32(pl + 8, FORMAT_VERSION);
  wr64(pl + 12, gen);
  wr32(out, HDR_PAYLOAD);
  wr32(out + 4, hubc__crc32c(pl, HDR_PAYLOAD));
}

/* Whether a valid frame starts anywhere in [from, size): a well-formed
 * record (a transaction whose ops fill it exactly, or an end record) with a
 * good CRC. Structure is checked first: payload bytes are full of plausible
 * lengths and type bytes, and checksumming each of them would not finish.
 * When proving there is none would still take more than RESYNC_BUDGET bytes
 * of checksumming or RESYNC_WALK bytes of walking transactions (crafted
 * payloads can make every offset start a long walk), answers yes (the
 * caller then reports corruption rather than dropping data). */
static int valid_frame_after(const unsigned char *p, uint64_t size, uint64_t from) {
  uint64_t budget = RESYNC_BUDGET, walk = RESYNC_WALK;
  for (uint64_t q = from; q + FRAME_HDR < size; q++) {
    uint32_t n = rd32(p + q);
    if (n == 0 || (uint64_t)n > size - q - FRAME_HDR) continue;
    const unsigned char *pl = p + q + FRAME_HDR;
    if (pl[0] == REC_END ? n != END_PAYLOAD : pl[0] != REC_TXN) continue;
    if (pl[0] == REC_TXN) {
      const char *why = NULL;
      uint32_t where = 0;
      int bad = walk_txn(pl, n, NULL, NULL, NULL, NULL, &why, &where) != 0;
      uint64_t walked = bad ? (uint64_t)where + 1 : n;
      if (walked > walk) return 1;
      walk -= walked;
      if (bad) continue;
    }
    if (n > budget) return 1;
    budget -= n;
    if (rd32(p + q + 4) == hubc__crc32c(pl, n)) return 1;
  }
  return 0;
}

/* A record type this version does not know: refused, never skipped. */
static int unknown_type(const char *name, uint64_t off, unsigned char type) {
  return hubc__err(HUBC_EVERSION,
                   "journal %s: record at offset %llu has type %u, unknown to this version "
                   "(written by a newer hubcontacts?)",
                   name, ull(off), (unsigned int)type);
}

/* Validates the log records after the header. *valid_end: where the valid
 * frames end (the torn tail, if any, starts there). */
static int scan_log(const char *name, const unsigned char *p, uint64_t size,
                    uint64_t *valid_end, struct tally *t) {
  uint64_t off = HDR_FRAME;
  char buf[160];
  while (off < size) {
    uint32_t len = 0;
    const char *bad = frame_problem(p, size, off, &len, buf, sizeof buf);
    if (bad) {
      if (valid_frame_after(p, size, off + 1))
        return hubc__err(HUBC_ECORRUPT,
                         "journal %s: corrupt record at offset %llu: %s; valid records follow "
                         "it, so this is damage, not an interrupted write",
                         name, ull(off), bad);
      break; /* torn tail */
    }
    const unsigned char *pl = p + off + FRAME_HDR;
    if (pl[0] == REC_TXN) {
      const char *why = NULL;
      uint32_t where = 0;
      if (walk_txn(pl, len, NULL, NULL, NULL, t, &why, &where) != 0)
        return hubc__err(HUBC_ECORRUPT,
                         "journal %s: corrupt record at offset %llu: %s (at byte %u of the "
                         "record; its checksum is valid)",
                         name, ull(off), why, where);
    } else if (pl[0] == REC_END) {
      return hubc__err(HUBC_ECORRUPT,
                       "journal %s: corrupt record at offset %llu: a snapshot end record in a "
                       "log",
                       name, ull(off));
    } else {
      return unknown_type(name, off, pl[0]);
    }
    off += FRAME_HDR + len;
  }
  *valid_end = off;
  return 0;
}

/* Validates a whole snapshot (strict: it is written once, never appended). */
static int scan_snapshot(const char *name, const unsigned char *p, uint64_t size,
                         struct tally *t) {
  uint64_t off = HDR_FRAME;
  uint64_t records = 0;
  char buf[160];
  while (off < size) {
    uint32_t len = 0;
    const char *bad = frame_problem(p, size, off, &len, buf, sizeof buf);
    if (bad)
      return hubc__err(HUBC_ECORRUPT, "journal %s: corrupt record at offset %llu: %s", name,
                       ull(off), bad);
    const unsigned char *pl = p + off + FRAME_HDR;
    if (pl[0] == REC_TXN) {
      const char *why = NULL;
      uint32_t where = 0, n_ops = 0;
      if (walk_txn(pl, len, NULL, NULL, &n_ops, t, &why, &where) != 0)
        return hubc__err(HUBC_ECORRUPT,
                         "journal %s: corrupt record at offset %llu: %s (at byte %u of the "
                         "record; its checksum is valid)",
                         name, ull(off), why, where);
      records += n_ops;
    } else if (pl[0] == REC_END) {
      if (len != END_PAYLOAD)
        return hubc__err(HUBC_ECORRUPT,
                         "journal %s: corrupt record at offset %llu: end record of %u bytes, "
                         "expected %u",
                         name, ull(off), len, END_PAYLOAD);
      uint64_t count = rd64(pl + 1);
      if (count != records)
        return hubc__err(HUBC_ECORRUPT,
                         "journal %s: corrupt record at offset %llu: the end record counts %llu "
                         "records but the snapshot holds %llu",
                         name, ull(off), ull(count), ull(records));
      off += FRAME_HDR + len;
      if (off != size)
        return hubc__err(HUBC_ECORRUPT,
                         "journal %s: corrupt record at offset %llu: %llu bytes after the end "
                         "record",
                         name, ull(off), ull(size - off));
      return 0;
    } else {
      return unknown_type(name, off, pl[0]);
    }
    off += FRAME_HDR + len;
  }
  return hubc__err(HUBC_ECORRUPT,
                   "journal %s: corrupt record at offset %llu: the snapshot ends without its "
                   "end record (truncated)",
                   name, ull(off));
}

/* Calls fn for every op of the frames in [HDR_FRAME, size) of an already
 * validated file (bounds are still checked). */
static int replay(const char *name, const unsigned char *p, uint64_t size, op_fn fn,
                  void *ctx, uint64_t *at) {
  uint64_t off = HDR_FRAME;
  while (off < size) {
    if (at) *at = off;
    if (size - off < FRAME_HDR) break;
    uint32_t len = rd32(p + off);
    if (len == 0 || (uint64_t)len > size - off - FRAME_HDR)
      return hubc__err(HUBC_ECORRUPT,
                       "journal %s: corrupt record at offset %llu: frame length %u changed "
                       "since the journal was opened",
                       name, ull(off), len);
    const unsigned char *pl = p + off + FRAME_HDR;
    if (pl[0] == REC_TXN) {
      const char *why = NULL;
      uint32_t where = 0;
      int rc = walk_txn(pl, len, fn, ctx, NULL, NULL, &why, &where);
      if (rc == -1)
        return hubc__err(HUBC_ECORRUPT, "journal %s: corrupt record at offset %llu: %s", name,
                         ull(off), why);
      if (rc) return rc;
    }
    off += FRAME_HDR + len;
  }
  return 0;
}

/* ---- opening ----------------------------------------------------------- */

static void free_journal(hubc_journal *j) {
  if (!j) return;
  unmap(&j->log_map);
  unmap(&j->snap_map);
  if (j->fd >= 0) close(j->fd); /* also releases the flock */
  free(j->buf);
  free(j->path);
  free(j->snap_path);
  free(j->tmp_path);
  free(j);
}

/* Empties the log and writes a header of generation gen, durably. */
static int reset_log(hubc_journal *j, uint64_t gen) {
  unsigned char hdr[HDR_FRAME];
  make_header(hdr, LOG_MAGIC, gen);
  if (ftruncate(j->fd, 0) != 0)
    return hubc__err(HUBC_EIO, "journal %s: cannot truncate the log: %s", j->path,
                     strerror(errno));
  if (pwrite_all(j->fd, hdr, sizeof hdr, 0) != 0 || sync_fd(j->fd, 0) != 0)
    return hubc__err(HUBC_EIO, "journal %s: cannot write the log header: %s", j->path,
                     strerror(errno));
  if (sync_dir(j->path) != 0)
    return hubc__err(HUBC_EIO, "journal %s: cannot sync its directory: %s", j->path,
                     strerror(errno));
  j->log_size = HDR_FRAME;
  j->dirty = 0;
  now_mono(&j->last_sync);
  return 0;
}

static int all_zero(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return 0;
  return 1;
}

static int open_snapshot(hubc_journal *j) {
  int fd = open(j->snap_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      j->gen = 0;
      j->snap_size = 0;
      return 0;
    }
    return hubc__err(HUBC_EIO, "journal %s: cannot open: %s", j->snap_path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    return hubc__err(HUBC_EIO, "journal %s: cannot stat: %s", j->snap_path, strerror(e));
  }
  uint64_t size = (uint64_t)st.st_size;
  int rc = map_fd(&j->snap_map, fd, size, j->snap_path);
  close(fd);
  if (rc) return rc;
  rc = check_header(j->snap_path, j->snap_map.p, size, SNAP_MAGIC, "journal snapshot", &j->gen);
  if (!rc) rc = scan_snapshot(j->snap_path, j->snap_map.p, size, &j->tally);
  if (rc) return rc;
  j->snap_size = size;
  return 0;
}

/* Opens (creating, unless read-only) and locks the log. */
static int lock_log(hubc_journal *j) {
  int fd = j->read_only ? open(j->path, O_RDONLY | O_CLOEXEC)
                        : open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (j->read_only && errno == ENOENT)
      return hubc__err(HUBC_ENOTFOUND,
                       "journal %s: does not exist (a read-only open does not create it)", j->path);
    return hubc__err(errno == ENOENT || errno == ENOTDIR ? HUBC_EINVAL : HUBC_EIO,
                     "journal %s: cannot open%s: %s", j->path, j->read_only ? "" : " or create",
                     strerror(errno));
  }
  j->fd = fd;
  if (flock(fd, (j->read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return hubc__err(HUBC_EBUSY,
                       j->read_only ? "journal %s: open for writing (by another process or handle)"
                                    : "journal %s: already open (by another process or another "
                                      "handle, possibly read-only)",
                       j->path);
    return hubc__err(HUBC_EIO, "journal %s: cannot lock: %s", j->path, strerror(errno));
  }
  return 0;
}

/* A log that never held a transaction the snapshot lacks: start it anew
 * (read-only: read nothing from it). */
static int new_log(hubc_journal *j) {
  unmap(&j->log_map);
  if (j->read_only) {
    j->log_size = 0;
    return 0;
  }
  return reset_log(j, j->gen);
}

/* Validates the locked log against the snapshot's generation; cuts a torn
 * tail (read-only: only measures it). */
static int check_log(hubc_journal *j) {
  int fd = j->fd;
  struct stat st;
  if (fstat(fd, &st) != 0)
    return hubc__err(HUBC_EIO, "journal %s: cannot stat: %s", j->path, strerror(errno));
  if (!S_ISREG(st.st_mode))
    return hubc__err(HUBC_EINVAL, "journal %s: not a regular file", j->path);
  uint64_t size = (uint64_t)st.st_size;
  if (size == 0) return new_log(j);

  int rc = map_fd(&j->log_map, fd, size, j->path);
  if (rc) return rc;
  const unsigned char *p = j->log_map.p;
  if (size < HDR_FRAME) {
    /* cut inside its header: new only if it is the start of our header */
    unsigned char hdr[HDR_FRAME];
    make_header(hdr, LOG_MAGIC, j->gen);
    if (memcmp(p, hdr, (size_t)size) == 0) return new_log(j);
    return hubc__err(HUBC_ECORRUPT,
                     "journal %s: corrupt header at offset 0: the file has %llu bytes, fewer than "
                     "the %u-byte header, and they are %s",
                     j->path, ull(size), HDR_FRAME,
                     all_zero(p, (size_t)size)
                         ? "zeros"
                         : "not a hubcontacts journal log header cut short");
  }
  uint64_t log_gen = 0;
  rc = check_header(j->path, p, size, LOG_MAGIC, "journal log", &log_gen);
  if (rc) {
    if (all_zero(p, (size_t)size))
      return hubc__err(HUBC_ECORRUPT,
                       "journal %s: corrupt header at offset 0: all %llu bytes of the log are "
                       "zeros (its data was never written or was wiped); not treated as a new "
                       "journal",
                       j->path, ull(size));
    return rc;
  }
  if (log_gen > j->gen)
    return hubc__err(HUBC_ECORRUPT,
                     "journal %s: the log continues snapshot generation %llu but %s has "
                     "generation %llu (snapshot missing or replaced)",
                     j->path, ull(log_gen), j->snap_path, ull(j->gen));
  /* Compacted into the snapshot already; only its reset was lost. */
  if (log_gen < j->gen) return new_log(j);
  uint64_t end = size;
  rc = scan_log(j->path, p, size, &end, &j->tally);
  if (rc) return rc;
  if (end < size) {
    if (!j->read_only && (ftruncate(fd, (off_t)end) != 0 || sync_fd(fd, 0) != 0))
      return hubc__err(HUBC_EIO, "journal %s: cannot cut the torn tail at offset %llu: %s",
                       j->path, ull(end), strerror(errno));
    j->torn_bytes = size - end;
  }
  j->log_size = end;
  return 0;
}

static int HUBC_CALLBACK cb_load(void *userdata, hubc_loader *loader);
static int HUBC_CALLBACK cb_begin(void *userdata);
static int HUBC_CALLBACK cb_put(void *userdata, int kind, hubc_id id, const void *bytes,
                                size_t len);
static int HUBC_CALLBACK cb_del(void *userdata, int kind, hubc_id id);
static int HUBC_CALLBACK cb_commit(void *userdata);
static int HUBC_CALLBACK cb_rollback(void *userdata);
static void HUBC_CALLBACK cb_close(void *userdata);

/* Bytes of each version of hubc_journal_options (index: version). */
static const size_t options_size[] = {0, HUBC__VERSION_END(hubc_journal_options, auto_compact_bytes),
                                      HUBC__VERSION_END(hubc_journal_options, read_only)};
_Static_assert(sizeof options_size / sizeof *options_size == HUBC_JOURNAL_OPTIONS_VERSION + 1,
               "a size per journal options version");

int hubc_journal_options_init(hubc_journal_options *opts, unsigned int version) {
  if (!opts) return hubc__err(HUBC_EINVAL, "hubc_journal_options_init: opts is NULL");
  int rc = hubc__version_check(version, HUBC_JOURNAL_OPTIONS_VERSION, "journal options");
  if (rc) return rc;
  memset(opts, 0, options_size[version]); /* an older caller's struct is shorter */
  opts->version = version;
  opts->fsync_policy = HUBC_FSYNC_EVERY_COMMIT;
  return hubc__ok();
}

int hubc_journal_open(hubc_journal **out, const char *path, const hubc_journal_options *opts) {
  if (!out) return hubc__err(HUBC_EINVAL, "hubc_journal_open: out is NULL");
  *out = NULL;
  if (!path) return hubc__err(HUBC_EINVAL, "hubc_journal_open: path is NULL");
  if (!*path) return hubc__err(HUBC_EINVAL, "hubc_journal_open: path is empty");
  hubc_journal_options o = HUBC_JOURNAL_OPTIONS_INIT;
  if (opts) { /* fields newer than the caller's version read as 0 */
    int rc = hubc__version_check(opts->version, HUBC_JOURNAL_OPTIONS_VERSION, "journal options");
    if (rc) return rc;
    hubc__version_in(&o, sizeof o, opts, options_size[opts->version]);
  }
  if (o.fsync_policy < HUBC_FSYNC_EVERY_COMMIT || o.fsync_policy > HUBC_FSYNC_NEVER)
    return hubc__err(HUBC_EINVAL,
                     "hubc_journal_open: fsync_policy %d is not one of 0 (EVERY_COMMIT), 1 "
                     "(INTERVAL), 2 (NEVER)",
                     o.fsync_policy);

  hubc_journal *j = calloc(1, sizeof *j);
  if (!j) return hubc__err(HUBC_ENOMEM, "hubc_journal_open: out of memory");
  j->fd = -1;
  j->read_only = o.read_only != 0;
  j->policy = o.fsync_policy;
  j->interval_ms = o.fsync_interval_ms ? o.fsync_interval_ms : DEFAULT_INTERVAL_MS;
  j->auto_compact = o.auto_compact_bytes ? o.auto_compact_bytes : DEFAULT_AUTO_COMPACT;
  j->path = str_concat(path, "");
  j->snap_path = str_concat(path, ".snap");
  j->tmp_path = str_concat(path, ".snap.tmp");
  if (!j->path || !j->snap_path || !j->tmp_path) {
    free_journal(j);
    return hubc__err(HUBC_ENOMEM, "hubc_journal_open: out of memory");
  }
  now_mono(&j->last_sync);
  /* Lock the log first, then read the snapshot, then check the log. */
  int rc = lock_log(j);
  /* A leftover of a compaction interrupted before its rename. */
  if (!rc && !j->read_only && unlink(j->tmp_path) != 0 && errno != ENOENT)
    rc = hubc__err(HUBC_EIO, "journal %s: cannot remove a stale temporary file: %s",
                   j->tmp_path, strerror(errno));
  if (!rc) rc = open_snapshot(j);
  if (!rc) rc = check_log(j);
  if (rc) {
    free_journal(j);
    return rc;
  }
  j->maps_ready = 1;
  j->compact_retry_at = 0;
  j->persist.version = HUBC_PERSIST_VERSION;
  j->persist.userdata = j;
  j->persist.load = cb_load;
  j->persist.begin = cb_begin;
  j->persist.put = cb_put;
  j->persist.del = cb_del;
  j->persist.commit = cb_commit;
  j->persist.rollback = cb_rollback;
  j->persist.close = cb_close;
  *out = j;
  return hubc__ok();
}

/* ---- the persistence callbacks ----------------------------------------- */

struct load_ctx {
  hubc_loader *loader;
  const char *name; /* the file being replayed */
  uint64_t off;     /* offset of the frame being replayed */
};

static int load_op(void *ctx, unsigned int op, unsigned int kind, int64_t id,
                   const unsigned char *bytes, uint32_t len) {
  struct load_ctx *c = ctx;
  int rc = op == OP_PUT ? hubc_loader_put(c->loader, (int)kind, id, bytes, len)
                        : hubc_loader_del(c->loader, (int)kind, id);
  if (rc) {
    /* Say where the refused record is stored. */
    char msg[400];
    snprintf(msg, sizeof msg, "%s", hubc_error_last());
    hubc__err(rc, "journal %s: record at offset %llu (%s of kind %u, id %lld) refused: %s",
              c->name, ull(c->off), op == OP_PUT ? "put" : "del", kind, (long long)id, msg);
  }
  return rc;
}

static int HUBC_CALLBACK cb_load(void *userdata, hubc_loader *loader) {
  hubc_journal *j = userdata;
  if (!j) return hubc__err(HUBC_EINVAL, "journal load: userdata is NULL");
  if (!loader) return hubc__err(HUBC_EINVAL, "journal %s: load: loader is NULL", j->path);
  if (j->in_txn)
    return hubc__err(HUBC_EINVAL, "journal %s: load called inside a transaction", j->path);
  /* Two stores on one log would each write records the other does not
   * know (the same ids): the second attach is refused (issue 9 #5). */
  if (atomic_exchange(&j->attached, 1))
    return hubc__err(HUBC_EBUSY,
                     "journal %s: already in use by an open store; a journal handle serves one "
                     "store at a time (close that store first)",
                     j->path);
  int rc = 0;
  if (!j->maps_ready) {
    /* A later load (the store was reopened on the same handle): the files
     * hold only what open validated and what this handle wrote. */
    rc = map_path(&j->snap_map, j->snap_path, j->snap_size);
    if (!rc) rc = map_path(&j->log_map, j->path, j->log_size);
  }
  for (unsigned int k = 1; k < 256; k++)
    if (j->tally.puts[k]) hubc__loader_hint(loader, (int)k, j->tally.puts[k], j->tally.bytes[k]);
  struct load_ctx ctx = {loader, j->snap_path, 0};
  if (!rc && j->snap_size)
    rc = replay(j->snap_path, j->snap_map.p, j->snap_size, load_op, &ctx, &ctx.off);
  ctx.name = j->path;
  if (!rc && j->log_map.p)
    rc = replay(j->path, j->log_map.p, j->log_size, load_op, &ctx, &ctx.off);
  unmap(&j->snap_map);
  unmap(&j->log_map);
  j->maps_ready = 0;
  if (rc) atomic_store(&j->attached, 0);
  return rc;
}

void hubc__journal_detach(const hubc_persist *p) {
  if (p && p->load == cb_load && p->userdata) atomic_store(&((hubc_journal *)p->userdata)->attached, 0);
}

static int broken_err(const hubc_journal *j) {
  return hubc__err(HUBC_EIO,
                   "journal %s: %s; nothing more is written through this handle (close and "
                   "reopen the journal)",
                   j->path, j->broken);
}

static int read_only_err(const hubc_journal *j, const char *what) {
  return hubc__err(HUBC_EREADONLY, "journal %s: opened read-only: %s is refused, nothing changed",
                   j->path, what);
}

static int HUBC_CALLBACK cb_begin(void *userdata) {
  hubc_journal *j = userdata;
  if (!j) return hubc__err(HUBC_EINVAL, "journal begin: userdata is NULL");
  if (j->read_only) return read_only_err(j, "a change");
  if (j->broken) return broken_err(j);
  if (!j->buf) {
    j->buf_cap = 4096;
    j->buf = malloc(j->buf_cap);
    if (!j->buf) {
      j->buf_cap = 0;
      return hubc__err(HUBC_ENOMEM, "journal %s: begin: out of memory", j->path);
    }
  }
  j->in_txn = 1;
  j->buf_len = FRAME_HDR + TXN_FIXED;
  j->n_ops = 0;
  j->buf[FRAME_HDR] = REC_TXN;
  return 0;
}

/* Room for `more` bytes in the transaction buffer; the payload (all but the
 * 8-byte frame header) must stay within a u32. */
static int txn_reserve(hubc_journal *j, size_t more) {
  if (more > (size_t)UINT32_MAX || j->buf_len - FRAME_HDR > (size_t)UINT32_MAX - more)
    return hubc__err(HUBC_ELIMIT,
                     "journal %s: transaction larger than the 4 GiB a record may hold",
                     j->path);
  if (j->n_ops == UINT32_MAX)
    return hubc__err(HUBC_ELIMIT, "journal %s: more than %u operations in one transaction",
                     j->path, UINT32_MAX);
  size_t need = j->buf_len + more;
  if (need <= j->buf_cap) return 0;
  size_t cap = j->buf_cap;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  unsigned char *nb = realloc(j->buf, cap);
  if (!nb)
    return hubc__err(HUBC_ENOMEM, "journal %s: out of memory for a %llu-byte transaction",
                     j->path, ull(need));
  j->buf = nb;
  j->buf_cap = cap;
  return 0;
}

static int check_op(hubc_journal *j, const char *what, int kind) {
  if (!j->in_txn)
    return hubc__err(HUBC_EINVAL, "journal %s: %s outside begin/commit", j->path, what);
  if (kind < 1 || kind > 255)
    return hubc__err(HUBC_EINVAL, "journal %s: %s: record kind %d is not in 1..255", j->path,
                     what, kind);
  return 0;
}

static int HUBC_CALLBACK cb_put(void *userdata, int kind, hubc_id id, const void *bytes,
                                size_t len) {
  hubc_journal *j = userdata;
  if (!j) return hubc__err(HUBC_EINVAL, "journal put: userdata is NULL");
  int rc = check_op(j, "put", kind);
  if (rc) return rc;
  if (!bytes && len)
    return hubc__err(HUBC_EINVAL, "journal %s: put: bytes is NULL with length %llu", j->path,
                     ull(len));
  if (len > (size_t)UINT32_MAX - PUT_FIXED)
    return hubc__err(HUBC_ELIMIT, "journal %s: put: a %llu-byte record is over the 4 GiB limit",
                     j->path, ull(len));
  rc = txn_reserve(j, PUT_FIXED + len);
  if (rc) return rc;
  unsigned char *p = j->buf + j->buf_len;
  p[0] = OP_PUT;
  p[1] = (unsigned char)kind;
  wr64(p + 2, (uint64_t)id);
  wr32(p + 10, (uint32_t)len);
  if (len) memcpy(p + PUT_FIXED, bytes, len);
  j->buf_len += PUT_FIXED + len;
  j->n_ops++;
  return 0;
}

static int HUBC_CALLBACK cb_del(void *userdata, int kind, hubc_id id) {
  hubc_journal *j = userdata;
  if (!j) return hubc__err(HUBC_EINVAL, "journal del: userdata is NULL");
  int rc = check_op(j, "del", kind);
  if (!rc) rc = txn_reserve(j, DEL_FIXED);
  if (rc) return rc;
  unsigned char *p = j->buf + j->buf_len;
  p[0] = OP_DEL;
  p[1] = (unsigned char)kind;
  wr64(p + 2, (uint64_t)id);
  j->buf_len += DEL_FIXED;
  j->n_ops++;
  return 0;
}

static void txn_release(hubc_journal *j) {
  j->in_txn = 0;
  j->buf_len = 0;
  j->n_ops = 0;
  if (j->buf_cap > BUF_KEEP) { /* after a huge import, give the memory back */
    free(j->buf);
    j->buf = NULL;
    j->buf_cap = 0;
  }
}

/* Removes what a failed commit may have left at log_size: cut it off, or
 * else overwrite it with zeros (a torn tail at the next open, since this
 * handle then writes nothing after it). Returns 0, or -1 when neither
 * worked: undo_len stays set and close tries again. */
static int drop_frame(hubc_journal *j) {
  if (!j->undo_len) return 0;
  if (!faulted("truncate") && ftruncate(j->fd, (off_t)j->log_size) == 0) {
    j->undo_len = 0;
    return 0;
  }
  if (!j->broken) j->broken = "a failed commit could not be cut off the log";
  unsigned char zero[4096] = {0};
  uint64_t done = 0;
  while (done < j->undo_len) {
    size_t n = j->undo_len - done < sizeof zero ? (size_t)(j->undo_len - done) : sizeof zero;
    if (faulted("overwrite") || pwrite_all(j->fd, zero, n, j->log_size + done) != 0) return -1;
    done += n;
  }
  j->undo_len = 0;
  return 0;
}

/* The error of a failed commit; the frame is removed first. */
static int commit_failed(hubc_journal *j, const char *step, int e) {
  uint64_t at = j->log_size, n = j->undo_len;
  txn_release(j);
  int left = drop_frame(j) != 0;
  return hubc__err(HUBC_EIO, "journal %s: %s the %llu-byte record at offset %llu failed: %s%s%s",
                   j->path, step, ull(n), ull(at), strerror(e),
                   left ? "; it could not be removed either and may reappear when the journal "
                          "is reopened"
                        : "",
                   j->broken ? "; nothing more is written through this handle (close and reopen "
                               "the journal)"
                             : "");
}

static int compact(hubc_journal *j);

static int HUBC_CALLBACK cb_commit(void *userdata) {
  hubc_journal *j = userdata;
  if (!j) return hubc__err(HUBC_EINVAL, "journal commit: userdata is NULL");
  if (!j->in_txn) return hubc__err(HUBC_EINVAL, "journal %s: commit without begin", j->path);
  if (j->broken) {
    txn_release(j);
    return broken_err(j);
  }
  if (j->n_ops == 0) {
    txn_release(j);
    return 0;
  }
  uint32_t plen = (uint32_t)(j->buf_len - FRAME_HDR);
  wr32(j->buf + FRAME_HDR + 1, j->n_ops);
  wr32(j->buf, plen);
  wr32(j->buf + 4, hubc__crc32c(j->buf + FRAME_HDR, plen));
  j->undo_len = j->buf_len;
  if (pwrite_all(j->fd, j->buf, j->buf_len, j->log_size) != 0)
    return commit_failed(j, "writing", errno);
  int want_sync = j->policy == HUBC_FSYNC_EVERY_COMMIT ||
                  (j->policy == HUBC_FSYNC_INTERVAL && ms_since(&j->last_sync) >= j->interval_ms);
  if (want_sync) {
    if (faulted("fdatasync") || sync_fd(j->fd, 0) != 0) {
      /* After a failed fdatasync the page cache may have dropped pages a
       * later sync would not report: stop writing (the reopen re-reads). */
      j->broken = "an fdatasync failed";
      return commit_failed(j, "fdatasync after", errno);
    }
    j->dirty = 0;
    now_mono(&j->last_sync);
  } else {
    j->dirty = 1;
  }
  j->log_size += j->buf_len;
  j->undo_len = 0;
  j->tally.ops += j->n_ops;
  txn_release(j);

  if (j->auto_compact != UINT64_MAX && j->log_size > j->auto_compact &&
      j->log_size / 2 > j->snap_size && j->log_size >= j->compact_retry_at) {
    /* The commit is done; a failed compaction only postpones the next try. */
    if (compact(j) != 0) {
      j->compact_failures++;
      j->compact_retry_at = j->log_size + (j->log_size / 2 > j->auto_compact
                                               ? j->log_size / 2 : j->auto_compact);
    }
    hubc__ok();
  }
  return 0;
}

static int HUBC_CALLBACK cb_rollback(void *userdata) {
  hubc_journal *j = userdata;
  if (!j) return hubc__err(HUBC_EINVAL, "journal rollback: userdata is NULL");
  txn_release(j);
  return 0;
}

static int flush(hubc_journal *j) {
  if (!j->dirty || j->policy == HUBC_FSYNC_NEVER || j->fd < 0) return 0;
  if (sync_fd(j->fd, 0) != 0)
    return hubc__err(HUBC_EIO, "journal %s: fdatasync failed: %s", j->path, strerror(errno));
  j->dirty = 0;
  now_mono(&j->last_sync);
  return 0;
}

static void HUBC_CALLBACK cb_close(void *userdata) {
  hubc_journal *j = userdata;
  if (!j) return;
  if (j->in_txn) txn_release(j);
  (void)drop_frame(j);
  (void)flush(j);
  unmap(&j->snap_map);
  unmap(&j->log_map);
  j->maps_ready = 0;
  atomic_store(&j->attached, 0);
}

/* ---- compaction -------------------------------------------------------- */

struct entry {
  int64_t id;
  const unsigned char *bytes; /* into a mapping */
  uint32_t len;
  uint8_t kind;
  uint8_t state; /* 1 live, 2 deleted */
};

/* The records by (kind, id): entries in the order their key first appears
 * (a snapshot's is sorted, a log mostly adds ids in rising order), found
 * through a hash table of [32 hash bits | entry number + 1]. */
struct index {
  uint64_t *tab;
  size_t cap; /* power of two */
  struct entry *ents;
  size_t n, ents_cap;
  const char *name;
};

static uint64_t key_hash(int64_t id, unsigned int kind) {
  uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15ull ^ (uint64_t)kind * 0xC2B2AE3D27D4EB4Full;
  h ^= h >> 29;
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ h >> 32;
}

static int index_oom(const struct index *ix) {
  return hubc__err(HUBC_ENOMEM, "journal %s: compaction: out of memory for %llu records", ix->name,
                   ull(ix->n));
}

/* Room for `want` keys: the table at most 3/4 full, the entries at once. */
static int index_reserve(struct index *ix, size_t want) {
  if (want > UINT32_MAX - 1u) want = UINT32_MAX - 1u;
  if (want > ix->ents_cap) {
    struct entry *ne = realloc(ix->ents, want * sizeof *ne);
    if (!ne) return index_oom(ix);
    ix->ents = ne;
    ix->ents_cap = want;
  }
  size_t ncap = ix->cap ? ix->cap : 4096;
  while (want > ncap / 4 * 3) ncap *= 2;
  if (ncap == ix->cap) return 0;
  uint64_t *nt = calloc(ncap, sizeof *nt);
  if (!nt) return index_oom(ix);
  for (size_t i = 0; i < ix->cap; i++) {
    uint64_t t = ix->tab[i];
    if (!t) continue;
    size_t s = (size_t)(t >> 32) & (ncap - 1);
    while (nt[s]) s = (s + 1) & (ncap - 1);
    nt[s] = t;
  }
  free(ix->tab);
  ix->tab = nt;
  ix->cap = ncap;
  return 0;
}

static int index_op(void *ctx, unsigned int op, unsigned int kind, int64_t id,
                    const unsigned char *bytes, uint32_t len) {
  struct index *ix = ctx;
  if (ix->n == ix->ents_cap || (ix->n + 1) > ix->cap / 4 * 3) {
    if (ix->n >= UINT32_MAX - 1u)
      return hubc__err(HUBC_ENOMEM, "journal %s: compaction: too many records", ix->name);
    int rc = index_reserve(ix, ix->n < 2048 ? 4096 : ix->n * 2);
    if (rc) return rc;
  }
  uint64_t h = key_hash(id, kind) & 0xffffffff00000000ull;
  size_t mask = ix->cap - 1, s = (size_t)(h >> 32) & mask;
  struct entry *e = NULL;
  for (; ix->tab[s]; s = (s + 1) & mask) {
    if ((ix->tab[s] & 0xffffffff00000000ull) != h) continue;
    struct entry *c = &ix->ents[(ix->tab[s] & 0xffffffffu) - 1];
    if (c->id == id && c->kind == kind) {
      e = c;
      break;
    }
  }
  if (!e) {
    if (op == OP_DEL) return 0; /* deleting what never existed */
    ix->tab[s] = h | (uint64_t)(ix->n + 1);
    e = &ix->ents[ix->n++];
    e->id = id;
    e->kind = (uint8_t)kind;
  }
  e->state = op == OP_PUT ? 1 : 2;
  e->bytes = bytes;
  e->len = len;
  return 0;
}

static int entry_cmp(const void *a, const void *b) {
  const struct entry *x = a, *y = b;
  if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int entry_before(const struct entry *x, const struct entry *y) { return entry_cmp(x, y) < 0; }

/* The live entries sorted by kind then id, moved to the front of the
 * entries; their count in *n. Already in order when the log only added ids
 * in rising order after the snapshot's; otherwise the entries are grouped
 * by kind (stable) and only a kind whose ids are out of order is sorted. */
static int index_sorted_live(struct index *ix, size_t *n) {
  struct entry *v = ix->ents;
  size_t m = 0, per_kind[256] = {0};
  int sorted = 1;
  for (size_t i = 0; i < ix->n; i++) {
    if (v[i].state != 1) continue;
    if (m && sorted && !entry_before(&v[m - 1], &v[i])) sorted = 0;
    per_kind[v[i].kind]++;
    v[m++] = v[i];
  }
  *n = m;
  if (sorted) return 0;
  struct entry *out = malloc((m ? m : 1) * sizeof *out);
  if (!out) return index_oom(ix);
  size_t at[256], sum = 0;
  for (unsigned k = 0; k < 256; k++) {
    at[k] = sum;
    sum += per_kind[k];
  }
  for (size_t i = 0; i < m; i++) out[at[v[i].kind]++] = v[i];
  for (size_t from = 0, k = 0; k < 256; from += per_kind[k++]) {
    for (size_t i = from + 1; i < from + per_kind[k]; i++)
      if (out[i - 1].id >= out[i].id) {
        qsort(out + from, per_kind[k], sizeof *out, entry_cmp);
        break;
      }
  }
  memcpy(v, out, m * sizeof *v);
  free(out);
  return 0;
}

/* Buffered writer of the new snapshot. */
struct snapw {
  int fd;
  const char *name;
  unsigned char *buf;
  size_t len, cap;
  size_t frame;     /* offset in buf of the open txn frame, SIZE_MAX: none */
  uint32_t n_ops;   /* ops in the open frame */
  uint64_t written; /* bytes already written to the file */
};

static int sw_reserve(struct snapw *w, size_t more) {
  if (w->len + more <= w->cap) return 0;
  size_t cap = w->cap ? w->cap : SNAP_FLUSH + SNAP_BATCH;
  while (cap < w->len + more) cap *= 2;
  unsigned char *nb = realloc(w->buf, cap);
  if (!nb) return hubc__err(HUBC_ENOMEM, "journal %s: compaction: out of memory", w->name);
  w->buf = nb;
  w->cap = cap;
  return 0;
}

static int sw_flush(struct snapw *w) {
  if (pwrite_all(w->fd, w->buf, w->len, w->written) != 0)
    return hubc__err(HUBC_EIO, "journal %s: writing at offset %llu failed: %s", w->name,
                     ull(w->written), strerror(errno));
  w->written += w->len;
  w->len = 0;
  return 0;
}

static int sw_close_frame(struct snapw *w) {
  if (w->frame == SIZE_MAX) return 0;
  unsigned char *f = w->buf + w->frame;
  uint32_t plen = (uint32_t)(w->len - w->frame - FRAME_HDR);
  wr32(f + FRAME_HDR + 1, w->n_ops);
  wr32(f, plen);
  wr32(f + 4, hubc__crc32c(f + FRAME_HDR, plen));
  w->frame = SIZE_MAX;
  w->n_ops = 0;
  return w->len >= SNAP_FLUSH ? sw_flush(w) : 0;
}

static int sw_put(struct snapw *w, const struct entry *e) {
  int rc;
  /* A frame's payload stays well under 4 GiB: batches close past 1 MiB and a
   * single record is below 4 GiB minus its op header (checked at put). */
  if (w->frame != SIZE_MAX &&
      (w->len - w->frame > SNAP_BATCH || (uint64_t)e->len > (uint64_t)SNAP_BATCH)) {
    rc = sw_close_frame(w);
    if (rc) return rc;
  }
  if (w->frame == SIZE_MAX) {
    rc = sw_reserve(w, FRAME_HDR + TXN_FIXED);
    if (rc) return rc;
    w->frame = w->len;
    w->buf[w->len + FRAME_HDR] = REC_TXN;
    w->len += FRAME_HDR + TXN_FIXED;
  }
  rc = sw_reserve(w, PUT_FIXED + (size_t)e->len);
  if (rc) return rc;
  unsigned char *p = w->buf + w->len;
  p[0] = OP_PUT;
  p[1] = e->kind;
  wr64(p + 2, (uint64_t)e->id);
  wr32(p + 10, e->len);
  if (e->len) memcpy(p + PUT_FIXED, e->bytes, e->len);
  w->len += PUT_FIXED + (size_t)e->len;
  w->n_ops++;
  return 0;
}

/* Writes the live records as the snapshot of generation gen into tmp_path
 * (fsynced); *size receives its length. */
static int write_snapshot(hubc_journal *j, struct entry *live, size_t n, uint64_t gen,
                          uint64_t *size) {
  struct snapw w = {-1, j->tmp_path, NULL, 0, 0, SIZE_MAX, 0, 0};
  w.fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (w.fd < 0)
    return hubc__err(HUBC_EIO, "journal %s: cannot create: %s", j->tmp_path, strerror(errno));
  int rc = sw_reserve(&w, HDR_FRAME);
  if (!rc) {
    make_header(w.buf, SNAP_MAGIC, gen);
    w.len = HDR_FRAME;
  }
  for (size_t i = 0; !rc && i < n; i++) rc = sw_put(&w, &live[i]);
  if (!rc) rc = sw_close_frame(&w);
  if (!rc) rc = sw_reserve(&w, FRAME_HDR + END_PAYLOAD);
  if (!rc) {
    unsigned char *f = w.buf + w.len;
    f[FRAME_HDR] = REC_END;
    wr64(f + FRAME_HDR + 1, (uint64_t)n);
    wr32(f, END_PAYLOAD);
    wr32(f + 4, hubc__crc32c(f + FRAME_HDR, END_PAYLOAD));
    w.len += FRAME_HDR + END_PAYLOAD;
    rc = sw_flush(&w);
  }
  if (!rc && sync_fd(w.fd, 1) != 0)
    rc = hubc__err(HUBC_EIO, "journal %s: fsync failed: %s", j->tmp_path, strerror(errno));
  if (close(w.fd) != 0 && !rc)
    rc = hubc__err(HUBC_EIO, "journal %s: close failed: %s", j->tmp_path, strerror(errno));
  free(w.buf);
  *size = w.written;
  return rc;
}

static int compact(hubc_journal *j) {
  if (j->broken) return broken_err(j);
  /* Mappings kept from open for the first load would outlive the rewrite;
   * load maps the files again when it needs them. */
  unmap(&j->snap_map);
  unmap(&j->log_map);
  j->maps_ready = 0;
  struct map snap = {NULL, 0}, log = {NULL, 0};
  struct index ix = {NULL, 0, NULL, 0, 0, j->path};
  int rc = map_path(&snap, j->snap_path, j->snap_size);
  if (!rc) rc = map_path(&log, j->path, j->log_size);
  /* sized once from the ops the files hold (at most one key each); an
   * allocation that fails here is retried growing from small */
  if (!rc && (j->tally.ops > SIZE_MAX / 64 || index_reserve(&ix, (size_t)j->tally.ops) != 0))
    rc = index_reserve(&ix, 4096);
  if (!rc && j->snap_size) rc = replay(j->snap_path, snap.p, j->snap_size, index_op, &ix, NULL);
  if (!rc && log.p) rc = replay(j->path, log.p, j->log_size, index_op, &ix, NULL);
  size_t n = 0;
  if (!rc) rc = index_sorted_live(&ix, &n);
  uint64_t new_size = 0, gen = j->gen + 1;
  if (!rc) rc = write_snapshot(j, ix.ents, n, gen, &new_size);
  if (!rc && rename(j->tmp_path, j->snap_path) != 0)
    rc = hubc__err(HUBC_EIO, "journal %s: cannot rename it to %s: %s", j->tmp_path,
                   j->snap_path, strerror(errno));
  if (!rc) { /* what the files hold now: the live records */
    memset(&j->tally, 0, sizeof j->tally);
    j->tally.ops = n;
    for (size_t i = 0; i < n; i++) {
      j->tally.puts[ix.ents[i].kind]++;
      j->tally.bytes[ix.ents[i].kind] += ix.ents[i].len;
    }
  }
  free(ix.tab);
  free(ix.ents);
  unmap(&snap);
  unmap(&log);
  if (rc) {
    (void)unlink(j->tmp_path);
    return rc;
  }
  /* The new snapshot is in place: from here the old log is stale. */
  j->gen = gen;
  j->snap_size = new_size;
  j->compactions++;
  if (sync_dir(j->snap_path) != 0) {
    j->broken = "a compaction failed after replacing the snapshot";
    return hubc__err(HUBC_EIO, "journal %s: cannot sync the directory after renaming the "
                     "snapshot: %s", j->snap_path, strerror(errno));
  }
  rc = reset_log(j, gen);
  if (rc) {
    j->broken = "a compaction failed after replacing the snapshot";
    return rc;
  }
  j->compact_retry_at = 0;
  return 0;
}

/* ---- public entry points ------------------------------------------------ */

const hubc_persist *hubc_journal_persist(hubc_journal *journal) {
  if (!journal) {
    hubc__err(HUBC_EINVAL, "hubc_journal_persist: journal is NULL");
    return NULL;
  }
  return &journal->persist;
}

int hubc_journal_compact(hubc_journal *journal) {
  if (!journal) return hubc__err(HUBC_EINVAL, "hubc_journal_compact: journal is NULL");
  if (journal->read_only) return read_only_err(journal, "compaction");
  if (journal->in_txn)
    return hubc__err(HUBC_EBUSY, "journal %s: cannot compact inside a transaction",
                     journal->path);
  int rc = compact(journal);
  return rc ? rc : hubc__ok();
}

void hubc_journal_close(hubc_journal *journal) {
  if (!journal) return;
  (void)drop_frame(journal);
  (void)flush(journal);
  free_journal(journal);
}

static const size_t info_size[] = {0, HUBC__VERSION_END(hubc_journal_info, compact_failures)};
_Static_assert(sizeof info_size / sizeof *info_size == HUBC_JOURNAL_INFO_VERSION + 1,
               "a size per journal info version");

int hubc_journal_get_info(hubc_journal_info *out, const hubc_journal *journal) {
  if (!out) return hubc__err(HUBC_EINVAL, "hubc_journal_get_info: out is NULL");
  int rc = hubc__version_check(out->version, HUBC_JOURNAL_INFO_VERSION, "journal info");
  if (rc) return rc;
  if (!journal) return hubc__err(HUBC_EINVAL, "hubc_journal_get_info: journal is NULL");
  hubc_journal_info i;
  memset(&i, 0, sizeof i);
  i.flags = (journal->read_only ? HUBC_JOURNAL_READ_ONLY : 0u) |
            (journal->broken ? HUBC_JOURNAL_FAILED : 0u);
  i.torn_bytes = journal->torn_bytes;
  i.log_bytes = journal->log_size;
  i.snapshot_bytes = journal->snap_size;
  i.generation = journal->gen;
  i.compactions = journal->compactions;
  i.compact_failures = journal->compact_failures;
  hubc__version_out(out, &i, info_size[out->version]);
  return hubc__ok();
}
