/* ctl.c — agentctl's side of the control protocol: connect, one request,
 * read frames until END, map errors to exit codes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "wipe.h"

const struct ctl_cmd *
ctl_find(const char *name)
{
	for (const struct ctl_cmd *const *e = ctl_table; *e != NULL; e++)
		if (strcmp((*e)->name, name) == 0)
			return *e;
	return NULL;
}

int
ctl_usage(const struct ctl_cmd *cmd)
{
	fprintf(stderr, "usage: agentctl [-s SOCKET] [--json] %s%s%s\n", cmd->name,
		cmd->usage[0] ? " " : "", cmd->usage);
	return CTL_EXIT_USAGE;
}

void
ctl_print_json(const struct ctl *c, const cJSON *v)
{
	char *s = c->json ? cJSON_PrintUnformatted(v) : cJSON_Print(v);

	if (s != NULL) {
		puts(s);
		free(s);
	}
}

static int
unreachable(const struct ctl *c, const char *why)
{
	fprintf(stderr, "agentctl: cannot reach agentd at %s: %s (is agentd running? -s or $AGENTD_SOCKET pick another socket)\n",
		c->socket, why);
	return CTL_EXIT_UNREACHABLE;
}

static int
connect_socket(const struct ctl *c, int *out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(c->socket) >= sizeof(sa.sun_path))
		return unreachable(c, "socket path too long");
	strcpy(sa.sun_path, c->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return unreachable(c, strerror(errno));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == EACCES || e == EPERM) {
			fprintf(stderr, "agentctl: permission denied on agentd's socket %s (root or the control group may connect)\n",
				c->socket);
			return CTL_EXIT_REFUSED;
		}
		return unreachable(c, strerror(e));
	}
	*out = fd;
	return 0;
}

static int
write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
exit_of(enum proto_error e)
{
	switch (e) {
	case PROTO_E_USAGE:
		return CTL_EXIT_USAGE;
	case PROTO_E_REFUSED:
		return CTL_EXIT_REFUSED;
	case PROTO_E_LIMIT:
		return CTL_EXIT_UNREACHABLE;
	default:
		return CTL_EXIT_NOT_OK;
	}
}

int
ctl_request(struct ctl *c, const char *command, cJSON *args, ctl_frame_fn fn, void *data)
{
	uint8_t *buf = NULL, *frame = NULL;
	size_t len = 0, flen;
	int fd = -1, rc = CTL_EXIT_OK, r;
	cJSON *req = proto_request_new(command, args);

	/* args may hold key material: wipe every copy once it is sent. */
	if (req == NULL || proto_encode_json(PROTO_REQUEST, req, &frame, &flen) < 0) {
		wipe_json_free(req);
		fprintf(stderr, "agentctl: out of memory or request too large\n");
		return CTL_EXIT_NOT_OK;
	}
	wipe_json_free(req);
	r = connect_socket(c, &fd);
	if (r != 0) {
		wipe_free(frame, flen);
		return r;
	}
	r = write_all(fd, frame, flen);
	wipe_free(frame, flen);
	if (r < 0) {
		close(fd);
		return unreachable(c, strerror(-r));
	}
	buf = malloc(PROTO_FRAME_MAX);
	if (buf == NULL) {
		close(fd);
		fprintf(stderr, "agentctl: out of memory\n");
		return CTL_EXIT_NOT_OK;
	}
	for (;;) {
		struct proto_frame f;
		ssize_t n;

		r = proto_decode(buf, len, &f);
		if (r == 0) {
			n = read(fd, buf + len, PROTO_FRAME_MAX - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0) {
				rc = unreachable(c, n == 0 ? "agentd closed the connection before the end of its reply"
							   : strerror(errno));
				break;
			}
			len += (size_t)n;
			continue;
		}
		if (r < 0) {
			if (r == -EPROTONOSUPPORT)
				fprintf(stderr, "agentctl: agentd answers with protocol version %u; this agentctl speaks %d\n",
					f.version, PROTO_VERSION);
			else
				fprintf(stderr, "agentctl: malformed reply from agentd: %s\n", strerror(-r));
			rc = CTL_EXIT_NOT_OK;
			break;
		}
		if (f.type == PROTO_END)
			break;
		if (f.type == PROTO_ERROR) {
			enum proto_error code;
			char *msg = NULL;
			if (proto_error_parse(f.payload, f.len, &code, &msg) == 0) {
				fprintf(stderr, "agentctl: %s\n", msg);
				rc = exit_of(code);
			} else {
				fprintf(stderr, "agentctl: agentd sent an unreadable error\n");
				rc = CTL_EXIT_NOT_OK;
			}
			free(msg);
		} else if (f.type == PROTO_REPLY || f.type == PROTO_PROGRESS) {
			cJSON *payload = cJSON_ParseWithLength(f.payload, f.len);
			if (payload == NULL) {
				fprintf(stderr, "agentctl: agentd sent a reply that is not JSON\n");
				rc = CTL_EXIT_NOT_OK;
			} else if (fn != NULL) {
				int x = fn(c, f.type, payload, data);
				if (x > 0)
					rc = x;
			}
			cJSON_Delete(payload);
		}
		memmove(buf, buf + r, len - (size_t)r);
		len -= (size_t)r;
	}
	free(buf);
	close(fd);
	return rc;
}

static void
print_plain(const cJSON *o, int depth)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, o) {
		if (cJSON_IsObject(it) || cJSON_IsArray(it)) {
			printf("%*s%s:\n", depth * 2, "", it->string ? it->string : "-");
			print_plain(it, depth + 1);
		} else if (cJSON_IsString(it)) {
			printf("%*s%s: %s\n", depth * 2, "", it->string ? it->string : "-", it->valuestring);
		} else {
			char *s = cJSON_PrintUnformatted(it);
			printf("%*s%s: %s\n", depth * 2, "", it->string ? it->string : "-", s ? s : "?");
			free(s);
		}
	}
}

static int
print_reply(struct ctl *c, enum proto_type type, const cJSON *payload, void *data)
{
	(void)type;
	(void)data;
	if (c->json || !c->tty)
		ctl_print_json(c, payload);
	else
		print_plain(payload, 0);
	return 0;
}

int
ctl_exec_simple(struct ctl *c, const struct ctl_cmd *cmd, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return ctl_usage(cmd);
	return ctl_request(c, cmd->name, NULL, cmd->show ? cmd->show : print_reply, NULL);
}
