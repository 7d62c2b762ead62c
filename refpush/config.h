/* refpush config: the command line. See config.c. */
#ifndef REFPUSH_CONFIG_H
#define REFPUSH_CONFIG_H

#include "server.h"

enum refpush_config_rc {
    REFPUSH_CONFIG_OK = 0,
    REFPUSH_CONFIG_HELP,     /* --help or --version: printed to stdout */
    REFPUSH_CONFIG_ERROR,    /* message printed to stderr */
};

/* Fills cfg from argv (strings point into argv). */
enum refpush_config_rc refpush_config_parse(struct refpush_config *cfg, int argc, char **argv);

#endif
