/*
 * clock.h - the monotonic clock every deadline and rate is measured on
 * (wall time, for what is stored, is store_now_ms()).
 */
#ifndef POSTBOTE_CLOCK_H
#define POSTBOTE_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: steps of the wall clock move no
   deadline. */
int64_t clock_mono_ms(void);

#endif
