/* civil — proleptic Gregorian calendar arithmetic (pure). */
#ifndef AGENTD_CIVIL_H
#define AGENTD_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/* Floor division and modulo (round toward negative infinity); B > 0. */
int64_t civil_floordiv(int64_t a, int64_t b);
int64_t civil_floormod(int64_t a, int64_t b);

/* Days since 1970-01-01 of Y-M-D (M 1-12; D may exceed the month: it counts on). */
int64_t civil_days(int64_t y, int64_t m, int64_t d);

/* Inverse of civil_days. */
void civil_from_days(int64_t days, int64_t *y, int *m, int *d);

bool civil_is_leap(int64_t y);

/* Days in month M (1-12) of year Y. */
int civil_days_in(int m, int64_t y);

#endif
