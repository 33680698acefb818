/* SPDX-License-Identifier: GPL-2.0-or-later
 *
 * chat.h - `sentrix chat`: talk to an instance's agent from a terminal
 * through the gateway's bridge (its chat socket).
 */
#pragma once

int sx_chat_main(int argc, char **argv);
