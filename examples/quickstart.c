/* hubcontacts quick start: open a store, define a custom property, create a
 * few contacts (one as marketing), look one up by email, print it, look up
 * several at once, and show what counts toward the marketing-contact tier.
 *
 *   cmake --workflow --preset demo      (builds and runs this program)
 */
#include <hubcontacts.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Every call returns 0 or a negative code; hubc_error_last() says why. */
static void check(int rc, const char *what) {
  if (rc != 0) {
    fprintf(stderr, "%s failed: %s (%s)\n", what, hubc_strerror(rc), hubc_error_last());
    exit(1);
  }
}

int main(void) {
  hubc_store_options opts;
  check(hubc_store_options_init(&opts, HUBC_STORE_OPTIONS_VERSION), "options");
  opts.admin_email = "owner@example.com"; /* the store's first super admin: user 1 */
  hubc_store *store;
  check(hubc_store_open(&store, &opts), "open");
  const hubc_id admin = 1;

  /* A custom enumeration property, next to the built-in ones. */
  const char *const tiers[] = {"bronze", "silver", "gold"};
  check(hubc_property_define(store, admin, "loyalty", "Loyalty Tier", HUBC_PROP_ENUMERATION, tiers, 3),
        "define property");

  /* Properties go in as parallel name/value arrays (names or labels). */
  const char *const names[] = {"email", "First Name", "lastname", "city", "loyalty"};
  const char *const anna[] = {"Anna.Rossi@Example.com", "Anna", "Rossi", "Roma", "gold"};
  const char *const marco[] = {"marco@example.it", "Marco", "Bianchi", "Milano", "silver"};
  hubc_id anna_id, marco_id;
  check(hubc_contact_create(&anna_id, store, admin, NULL, names, anna, 5), "create Anna");

  /* Manual creation may ask for marketing status (needs marketing access). */
  hubc_create_options as_marketing = HUBC_CREATE_OPTIONS_INIT;
  as_marketing.marketing = 1;
  check(hubc_contact_create(&marco_id, store, admin, &as_marketing, names, marco, 5), "create Marco");

  /* Emails are matched trimmed and case-insensitively (C3). */
  hubc_contact *c;
  check(hubc_contact_get_by_email(&c, store, "  anna.rossi@EXAMPLE.com "), "lookup");
  printf("Contact %lld:\n", (long long)hubc_contact_id(c));
  for (size_t i = 0; i < hubc_contact_prop_count(c); i++) {
    const char *name, *value;
    check(hubc_contact_prop_at(&name, &value, c, i), "property");
    printf("  %-28s %s\n", name, value);
  }
  hubc_contact_free(c);

  /* Many emails in one call: the fast path for bulk work (0: nobody). */
  const char *const wanted[] = {"marco@example.it", "nobody@example.com", "ANNA.ROSSI@example.com"};
  hubc_id ids[3];
  check(hubc_contact_find_many(ids, store, wanted, 3), "find many");
  printf("\nLooked up at once:\n");
  for (int i = 0; i < 3; i++) {
    if (ids[i]) printf("  %-28s record id %lld\n", wanted[i], (long long)ids[i]);
    else printf("  %-28s none\n", wanted[i]);
  }

  /* Setting marketing is immediate; setting non-marketing waits for the
   * next update date (the contact stays billable until then). */
  check(hubc_contact_set_marketing(store, admin, anna_id, HUBC_SOURCE_MANUAL, admin), "set marketing");
  check(hubc_contact_set_non_marketing(store, admin, marco_id, HUBC_SOURCE_MANUAL, admin), "set non-marketing");

  hubc_billing_info bill;
  bill.version = HUBC_BILLING_INFO_VERSION; /* output structs say which layout the caller knows */
  check(hubc_billing_get(&bill, store), "billing");
  printf("\nBillable contacts: %llu of a tier of %llu (%llu marketing, %llu until the next update)\n",
         (unsigned long long)bill.billable, (unsigned long long)bill.tier, (unsigned long long)bill.marketing,
         (unsigned long long)bill.until_update);
  time_t next = (time_t)bill.next_update;
  char when[32];
  strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&next));
  printf("Next update date: %s\n", when);

  hubc_store_close(store);
  return 0;
}
