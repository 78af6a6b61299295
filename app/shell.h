/* The command shell: a table of commands, a tokenizer that honours '...'
 * and "..." quoting, and script execution (';'-separated or one command
 * per line). Every command returns 0 or a non-zero status; a failing
 * command prints one line "cmd: message". */
#ifndef UMBRA_SHELL_H
#define UMBRA_SHELL_H

#define SHELL_MAX_ARGS 32
#define SHELL_LINE_MAX 1024

/* Status of a command that failed, that was used wrongly, or that does
 * not exist. */
#define SHELL_FAIL 1
#define SHELL_USAGE 2
#define SHELL_NOT_FOUND 127

struct shell_cmd {
	const char *name;
	const char *args;	/* usage after the name, "" if none */
	const char *help;	/* one line */
	int (*run)(int argc, char **argv);
};

/* The command tables, one per file of commands, ended by a NULL name. */
extern const struct shell_cmd shell_sys_cmds[];
extern const struct shell_cmd shell_read_cmds[];
extern const struct shell_cmd shell_change_cmds[];
extern const struct shell_cmd shell_volume_cmds[];
extern const struct shell_cmd shell_bench_cmds[];
extern const struct shell_cmd shell_net_cmds[];
extern const struct shell_cmd shell_compact_cmds[];
extern const struct shell_cmd shell_screen_cmds[];
extern const struct shell_cmd shell_agent_cmds[];

/* Prints "cmd: message" and returns status (for `return shell_err(...)`). */
int shell_err(const char *cmd, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Parses a decimal or 0x-hex unsigned number; 0 on success, -1 if s is not
 * one or it overflows. */
int shell_parse_u64(const char *s, unsigned long long *out);

/* Runs one command line (modified in place). Returns its status. */
int shell_run_line(char *line);

/* Runs a script: commands separated by ';' or newlines, in order. Stops at
 * the first failure unless the script has said `set +e`, and before the
 * next command once the power button is pressed. Returns the status of
 * the first failing command, or 0. */
int shell_run_script(char *script);

/* The interactive loop on the serial console; returns (0) only when the
 * power button is pressed. */
int shell_interactive(void);

#endif
