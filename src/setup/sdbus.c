/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sdbus.c - dlopen() libsystemd.so.0 and resolve the sd-bus calls we use.
 */

#include "../lib/util.h"
#include "dlsyms.h"
#include "sdbus.h"

const struct sx_sdbus *sx_sdbus(void)
{
	static struct sx_sdbus t;
	static void *handle;
	const struct sx_dlsym syms[] = {
	    {"sd_bus_open_system", (void **)&t.open_system},
	    {"sd_bus_flush_close_unref", (void **)&t.flush_close_unref},
	    {"sd_bus_message_new_method_call", (void **)&t.new_method_call},
	    {"sd_bus_message_appendv", (void **)&t.appendv},
	    {"sd_bus_message_append_strv", (void **)&t.append_strv},
	    {"sd_bus_call", (void **)&t.call},
	    {"sd_bus_message_unref", (void **)&t.message_unref},
	    {"sd_bus_error_free", (void **)&t.error_free},
	    {"sd_bus_path_encode", (void **)&t.path_encode},
	    {"sd_bus_get_property_string", (void **)&t.get_property_string},
	    {"sd_bus_get_property_trivial", (void **)&t.get_property_trivial},
	    {"sd_bus_message_read", (void **)&t.read},
	};

	return sx_dlsyms(&handle, "libsystemd.so.0", syms, ELEMENTSOF(syms)) == 0 ? &t : NULL;
}
