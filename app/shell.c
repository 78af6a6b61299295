/* Command dispatch and scripts; see shell.h. */
#include "shell.h"

#include <stdarg.h>
#include <string.h>

#include "../runtime/console.h"
#include "../runtime/fmt.h"
#include "../runtime/power.h"
#include "line.h"

static const struct shell_cmd *const tables[] = {
	shell_sys_cmds, shell_volume_cmds, shell_read_cmds, shell_change_cmds,
	shell_bench_cmds, shell_net_cmds, shell_compact_cmds, shell_agent_cmds,
	shell_screen_cmds,
};
static int stop_on_error = 1;

static void con_sink(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	con_write(s, n);
}

int shell_err(const char *cmd, int status, const char *fmt, ...)
{
	va_list ap;
	con_printf("%s: ", cmd);
	va_start(ap, fmt);
	fmt_vformat(con_sink, 0, fmt, ap);
	va_end(ap);
	con_puts("\n");
	return status;
}

int shell_parse_u64(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;
	unsigned base = 10;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > (~0ull - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* Splits line into words in place; quotes group words and are removed.
 * Returns argc, or -1 on an unterminated quote. */
static int tokenize(char *line, char **argv)
{
	int argc = 0;
	char *r = line, *w = line;
	for (;;) {
		while (*r == ' ' || *r == '\t')
			r++;
		if (!*r)
			return argc;
		if (argc == SHELL_MAX_ARGS)
			return -2;
		argv[argc++] = w;
		while (*r && *r != ' ' && *r != '\t') {
			if (*r == '\'' || *r == '"') {
				char q = *r++;
				while (*r && *r != q)
					*w++ = *r++;
				if (!*r)
					return -1;
				r++;
			} else {
				*w++ = *r++;
			}
		}
		if (*r)
			r++;
		*w++ = 0;
	}
}

static const struct shell_cmd *find(const char *name)
{
	for (unsigned t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct shell_cmd *c = tables[t]; c->name; c++)
			if (!strcmp(c->name, name))
				return c;
	return 0;
}

static int cmd_help(void)
{
	for (unsigned t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
		for (const struct shell_cmd *c = tables[t]; c->name; c++) {
			char use[64];
			fmt_snprintf(use, sizeof(use), "%s %s", c->name,
				     c->args);
			con_printf("  %-28s %s\n", use, c->help);
		}
	con_printf("  %-28s %s\n", "set +e | set -e",
		   "scripts: go on after a failure, or stop (default)");
	return 0;
}

int shell_run_line(char *line)
{
	char *argv[SHELL_MAX_ARGS + 1];
	int argc = tokenize(line, argv);
	if (argc == -1)
		return shell_err("shell", SHELL_USAGE, "unterminated quote");
	if (argc == -2)
		return shell_err("shell", SHELL_USAGE,
				 "too many arguments (at most %d)",
				 SHELL_MAX_ARGS);
	if (argc == 0 || argv[0][0] == '#')
		return 0;
	argv[argc] = 0;
	if (!strcmp(argv[0], "help"))
		return cmd_help();
	if (!strcmp(argv[0], "set") && argc == 2 &&
	    (!strcmp(argv[1], "+e") || !strcmp(argv[1], "-e"))) {
		stop_on_error = argv[1][0] == '-';
		return 0;
	}
	const struct shell_cmd *c = find(argv[0]);
	if (!c)
		return shell_err(argv[0], SHELL_NOT_FOUND,
				 "unknown command (try 'help')");
	return c->run(argc, argv);
}

int shell_run_script(char *script)
{
	int first_failure = 0;
	stop_on_error = 1;
	char *p = script;
	while (*p && !power_button_pressed()) {
		char *end = p, quote = 0;
		for (; *end && (quote || (*end != ';' && *end != '\n')); end++)
			if (quote ? *end == quote : (*end == '\'' || *end == '"'))
				quote = quote ? 0 : *end;
		char saved = *end;
		*end = 0;
		int st = shell_run_line(p);
		if (st && !first_failure)
			first_failure = st;
		if (st && stop_on_error)
			return st;
		if (!saved)
			break;
		p = end + 1;
	}
	return first_failure;
}

int shell_interactive(void)
{
	char line[SHELL_LINE_MAX];
	stop_on_error = 0;
	con_puts("type 'help' for the commands\n");
	for (;;) {
		int n = line_read("umbra> ", line, sizeof(line));
		if (n == LINE_POWER)
			return 0;
		if (n >= 0)
			shell_run_line(line);
	}
}
