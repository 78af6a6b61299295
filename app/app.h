/* The application's own shared pieces. */
#ifndef UMBRA_APP_H
#define UMBRA_APP_H

/* Brings everything to rest before power-off or reboot (later: sync and
 * unmount the volume). */
void app_shutdown(void);

#endif
