/* prompt.h — one line of secret input: typed at a terminal with echo off, or
 * read from a pipe or file.
 *
 * The bytes go straight into the caller's struct secret (secret.h), one at a
 * time, so that nothing past the line is consumed and no copy of the input
 * sits in memory that is not wiped.
 */
#ifndef AGENTD_PROMPT_H
#define AGENTD_PROMPT_H

#include "secret.h"

/* Appends one line of FD to S, without its newline or a CR before it.
 * 1 for a line (also a last line without a newline), 0 at end of file with
 * nothing read, -EMSGSIZE when the line does not fit in S (what fitted stays
 * in S), or a negative errno of read(). */
int prompt_read_line(int fd, struct secret *s);

/* Writes QUESTION to OUT_FD, turns echo off on the terminal IN_FD, reads one
 * line as prompt_read_line does, restores the terminal and ends the question's
 * line on OUT_FD.  SIGINT, SIGTERM or SIGHUP meanwhile restore the terminal
 * before their default action.  Same returns as prompt_read_line, or a negative
 * errno of tcgetattr/tcsetattr (-ENOTTY when IN_FD is not a terminal). */
int prompt_hidden(int in_fd, int out_fd, const char *question, struct secret *s);

#endif
