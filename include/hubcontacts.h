/* hubcontacts — umbrella header: the marketing-contacts model of a CRM as
 * an embeddable C library. Include this; it includes the rest. */
#ifndef HUBCONTACTS_H
#define HUBCONTACTS_H

#include "hubcontacts/common.h"
#include "hubcontacts/version.h"
#include "hubcontacts/errors.h"
#include "hubcontacts/store.h"
#include "hubcontacts/contact.h"
#include "hubcontacts/query.h"
#include "hubcontacts/user.h"
#include "hubcontacts/import.h"
#include "hubcontacts/form.h"
#include "hubcontacts/workflow.h"
#include "hubcontacts/sys/persist.h"
#include "hubcontacts/journal.h"

#endif
