/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * sdbus.h - libsystemd's sd-bus, loaded on first use.
 *
 * Only setup and --disable on a host where systemd runs talk to the bus;
 * `up`/`down` (run at every boot and by the benchmark) and every run on a
 * host without systemd never need it.  Loading libsystemd with dlopen()
 * there spares those runs mapping it and its six dependencies, which is
 * most of a short run's start-up cost.
 */
#pragma once

#include <systemd/sd-bus.h>

struct sx_sdbus {
	__typeof__(&sd_bus_open_system) open_system;
	__typeof__(&sd_bus_flush_close_unref) flush_close_unref;
	__typeof__(&sd_bus_message_new_method_call) new_method_call;
	__typeof__(&sd_bus_message_appendv) appendv;
	__typeof__(&sd_bus_message_append_strv) append_strv;
	__typeof__(&sd_bus_call) call;
	__typeof__(&sd_bus_message_unref) message_unref;
	__typeof__(&sd_bus_error_free) error_free;
	__typeof__(&sd_bus_path_encode) path_encode;
	__typeof__(&sd_bus_get_property_string) get_property_string;
	__typeof__(&sd_bus_get_property_trivial) get_property_trivial;
	__typeof__(&sd_bus_message_read) read;
};

/* Returns the loaded function table, or NULL (after logging) when
 * libsystemd cannot be loaded. */
const struct sx_sdbus *sx_sdbus(void);
