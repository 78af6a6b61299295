/* app/userdata.c: which user data is refused and how it is named, and
 * single values out of NoCloud's meta-data (YAML) and OpenStack's
 * meta_data.json, including hostile and truncated text. */
#include <stdio.h>
#include <string.h>

#include "../../app/userdata.h"
#include "check.h"

static const char *kind(const char *s)
{
	const char *k = userdata_kind(s, strlen(s));
	return k ? k : "(script)";
}

static void kinds(void)
{
	CHECK_STR(kind("#cloud-config\npackages: [nginx]\n"),
		  "cloud-init's #cloud-config");
	CHECK_STR(kind("#cloud-config-archive\n- type: x\n"),
		  "cloud-init's #cloud-config");
	CHECK_STR(kind("\xef\xbb\xbf#cloud-config\n"),
		  "cloud-init's #cloud-config");
	CHECK_STR(kind("#include\nhttp://x/y\n"), "cloud-init's #include");
	CHECK_STR(kind("#cloud-boothook\necho\n"),
		  "a cloud-init #cloud-boothook");
	CHECK_STR(kind("#part-handler\n"), "a cloud-init #part-handler");
	CHECK_STR(kind("#upstart-job\n"), "an #upstart-job");
	CHECK_STR(kind("## template: jinja\n#cloud-config\n"),
		  "a cloud-init jinja template");
	CHECK_STR(kind("#!/bin/sh\necho hi\n"), "a #! script (#!/bin/sh)");
	CHECK_STR(kind("#!/usr/bin/env python3 -u -X dev -W error\n"),
		  "a #! script (#!/usr/bin/env python3 -u -X dev -)");
	CHECK_STR(kind("#!"), "a #! script (#!)");
	CHECK_STR(kind("Content-Type: multipart/mixed; boundary=\"==b==\"\n"
		       "MIME-Version: 1.0\n\n--==b==\n"),
		  "a MIME multipart message");
	CHECK_STR(kind("MIME-Version: 1.0\r\ncontent-type:\tMultipart/Mixed;"
		       " boundary=x\r\n\r\n"), "a MIME multipart message");
	CHECK_STR(kind("MIME-Version: 1.0\n\nContent-Type: multipart/mixed\n"),
		  "a MIME message");
	CHECK_STR(kind("Content-Type: text/x-shellscript\n\n#!/bin/sh\n"),
		  "a MIME message");
	CHECK(userdata_kind("\x1f\x8b\x08\0\0\0", 6) &&
	      !strcmp(userdata_kind("\x1f\x8b\x08\0\0\0", 6),
		      "gzip-compressed data"));
	/* Scripts: comments and commands, including ones that merely
	 * mention the markers. */
	CHECK_STR(kind("# set up\nnet up\nserve /srv\n"), "(script)");
	CHECK_STR(kind("echo #cloud-config\n"), "(script)");
	CHECK_STR(kind(" #!/bin/sh\n"), "(script)");
	CHECK_STR(kind("#cloud-confi"), "(script)");
	CHECK_STR(kind(""), "(script)");
	CHECK_STR(kind("Content-Typ"), "(script)");
	CHECK(!userdata_kind("\x1f", 1));
}

static int meta(const char *text, const char *key, char *out, size_t size)
{
	return userdata_meta_value(text, strlen(text), key, out, size);
}

static void values(void)
{
	char v[64];
	CHECK_INT(meta("instance-id: iid-local01\nlocal-hostname: h\n",
		       "instance-id", v, sizeof(v)), 11);
	CHECK_STR(v, "iid-local01");
	CHECK_INT(meta("local-hostname: h\ninstance-id:   'iid 2'  \n",
		       "instance-id", v, sizeof(v)), 5);
	CHECK_STR(v, "iid 2");
	CHECK_INT(meta("instance-id: \"i-3\" # the id\n", "instance-id", v,
		       sizeof(v)), 3);
	CHECK_STR(v, "i-3");
	CHECK_INT(meta("instance-id: i-4 # comment\r\n", "instance-id", v,
		       sizeof(v)), 3);
	CHECK_STR(v, "i-4");
	CHECK_INT(meta("{\"instance-id\": \"i-5\"}", "instance-id", v,
		       sizeof(v)), 3);
	CHECK_STR(v, "i-5");
	CHECK_INT(meta("{\"name\": \"a\", \"uuid\" :\"83679162-1378-4288-a2d4-"
		       "70e13ec132aa\", \"hostname\": \"x\"}", "uuid", v,
		       sizeof(v)), 36);
	CHECK_STR(v, "83679162-1378-4288-a2d4-70e13ec132aa");
	/* A key inside another word or indented (not top level YAML) is
	 * not the key; a missing one is -1. */
	CHECK_INT(meta("my-instance-id: x\n  instance-id: y\n", "instance-id",
		       v, sizeof(v)), -1);
	CHECK_INT(meta("local-hostname: h\n", "instance-id", v, sizeof(v)),
		  -1);
	CHECK_INT(meta("", "uuid", v, sizeof(v)), -1);
	/* Values that are not plain strings, empty, unterminated, with
	 * escapes or control characters, or too long for out. */
	CHECK_INT(meta("{\"uuid\": {\"a\": 1}}", "uuid", v, sizeof(v)), -1);
	CHECK_INT(meta("{\"uuid\": 12}", "uuid", v, sizeof(v)), -1);
	CHECK_INT(meta("instance-id: [a]\n", "instance-id", v, sizeof(v)), -1);
	CHECK_INT(meta("instance-id: 12\n", "instance-id", v, sizeof(v)), 2);
	CHECK_INT(meta("instance-id:\n", "instance-id", v, sizeof(v)), -1);
	CHECK_INT(meta("{\"uuid\": \"abc", "uuid", v, sizeof(v)), -1);
	CHECK_INT(meta("{\"uuid\": \"a\\\"b\"}", "uuid", v, sizeof(v)), -1);
	CHECK_INT(meta("instance-id: a\x01z\n", "instance-id", v, sizeof(v)),
		  -1);
	CHECK_INT(meta("instance-id: 0123456789\n", "instance-id", v, 10), -1);
	CHECK_INT(meta("instance-id: 012345678\n", "instance-id", v, 10), 9);
	/* Text cut right after the key. */
	CHECK_INT(meta("instance-id", "instance-id", v, sizeof(v)), -1);
	CHECK_INT(meta("{\"uuid\"", "uuid", v, sizeof(v)), -1);
	CHECK_INT(userdata_meta_value("instance-id: abc", 14, "instance-id", v,
				      sizeof(v)), 1);
	CHECK_STR(v, "a");
}

int main(int argc, char **argv)
{
	check_args(argc, argv);
	RUN(kinds);
	RUN(values);
	return check_done();
}
