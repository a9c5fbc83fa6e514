/* hubc — the command-line tool over the public API (no internal headers).
 * One store on the bundled journal; each subcommand is a function taking
 * its own arguments. */
#ifndef HUBC_CLI_H
#define HUBC_CLI_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include <hubcontacts.h>

/* Exit codes (README "Command line"). */
enum {
  EXIT_OK = 0,
  EXIT_FAIL = 1,      /* the library refused: its message is printed */
  EXIT_USAGE = 2,     /* unknown command, flag or bad argument */
  EXIT_CONFIRM = 3,   /* the typed confirmation did not match, or was not given */
  EXIT_LOCKED = 4,    /* the store is open in another process */
  EXIT_NOSTORE = 5,   /* no store at the path: run hubc init */
  EXIT_INTERRUPT = 130 /* Ctrl-C: nothing was changed */
};

typedef struct session {
  const char *path;     /* journal path */
  hubc_journal *journal;
  hubc_store *store;
  hubc_id actor;        /* the user the CLI acts as */
  int json;             /* --json: machine-readable output */
} session;

extern volatile sig_atomic_t g_interrupted;

/* Opening: an existing store (EXIT_NOSTORE if none) as the configured
 * admin or --as user. read_only only for `check`: reading commands open
 * for writing, since a call may have update dates to apply (B2). Returns an
 * exit code; on success *s is ready and closed by session_close. */
int session_open(session *s, int read_only);
void session_close(session *s);

/* Library failures: prints "hubc: <what>: <message>" and maps the code. */
int fail(int rc, const char *what);
int usage_error(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Arguments. */
int arg_is(const char *arg, const char *name);
/* "--name=value" or "--name value": the value (advancing *i), or NULL. */
const char *arg_value(int argc, char **argv, int *i, const char *name);
int parse_u64(const char *s, uint64_t *out);
int parse_id(const char *s, hubc_id *out);
/* Asks on the terminal for the number; -1 if none could be read. */
int ask_number(const char *prompt, uint64_t *out);
/* JSON string literal of s on f. */
void json_str(FILE *f, const char *s);
/* "2024-03-01" of a time. */
void fmt_date(char *buf, size_t cap, hubc_time t);
int write_file(void *payload, const char *data, size_t len); /* hubc_write_fn over a FILE * */

/* Subcommands (argv[0] is the subcommand's name). */
int cmd_init(int argc, char **argv, session *s);
int cmd_import(int argc, char **argv, session *s);
int cmd_contacts(int argc, char **argv, session *s);
int cmd_set_marketing(int argc, char **argv, session *s);
int cmd_billing(int argc, char **argv, session *s);
int cmd_history(int argc, char **argv, session *s);
int cmd_forms(int argc, char **argv, session *s);
int cmd_submit(int argc, char **argv, session *s);
int cmd_workflows(int argc, char **argv, session *s);
int cmd_lists(int argc, char **argv, session *s); /* lists.c */
int cmd_views(int argc, char **argv, session *s);
int cmd_users(int argc, char **argv, session *s);
int cmd_perms(int argc, char **argv, session *s);
int cmd_compact(int argc, char **argv, session *s);
int cmd_check(int argc, char **argv, session *s);

#endif
