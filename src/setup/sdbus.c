/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sdbus.c - dlopen() libsystemd.so.0 and resolve the sd-bus calls we use.
 */
#include <dlfcn.h>

#include "../lib/log.h"
#include "sdbus.h"

const struct sx_sdbus *sx_sdbus(void)
{
	static struct sx_sdbus t;
	static int state; /* 0 untried, 1 loaded, -1 failed */
	void *h;

	if (state)
		return state > 0 ? &t : NULL;
	state = -1;
	h = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_error("cannot load libsystemd.so.0 to talk to systemd: %s", dlerror());
		return NULL;
	}
#define LOAD(field, sym)                                                                                     \
	do {                                                                                                 \
		*(void **)&t.field = dlsym(h, #sym);                                                         \
		if (!t.field) {                                                                              \
			log_error("libsystemd.so.0 lacks %s", #sym);                                         \
			return NULL;                                                                         \
		}                                                                                            \
	} while (0)
	LOAD(open_system, sd_bus_open_system);
	LOAD(flush_close_unref, sd_bus_flush_close_unref);
	LOAD(new_method_call, sd_bus_message_new_method_call);
	LOAD(appendv, sd_bus_message_appendv);
	LOAD(append_strv, sd_bus_message_append_strv);
	LOAD(call, sd_bus_call);
	LOAD(message_unref, sd_bus_message_unref);
	LOAD(error_free, sd_bus_error_free);
	LOAD(path_encode, sd_bus_path_encode);
	LOAD(get_property_string, sd_bus_get_property_string);
#undef LOAD
	state = 1;
	return &t;
}
