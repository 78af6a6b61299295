/* The PS/2 keyboard behind an i8042 controller (pc, q35): its key events
 * into the console (runtime/kbd.h) through a console source. */
#ifndef UMBRA_I8042_H
#define UMBRA_I8042_H

/* Looks for the controller at ports 0x60/0x64 (every wait bounded: a
 * machine without one, such as microvm, costs one port read), makes the
 * keyboard send translated set-1 codes with interrupts (IRQ 1 through the
 * IOAPIC) and registers it as a console source. 0, or -1 with *why ("no
 * i8042") when there is no keyboard to use. */
int i8042_probe(const char **why);

/* What the probe found, for `screen` ("set 2 translated to set 1 ..."). */
const char *i8042_describe(void);

#endif
