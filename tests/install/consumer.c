/* Install test consumer: uses only the installed headers and library. */
#include <hubcontacts.h>

#include <stdio.h>
#include <string.h>

#define CHECK(expr)                                                          \
  do {                                                                       \
    int rc_ = (expr);                                                        \
    if (rc_ != 0) {                                                          \
      fprintf(stderr, "consumer: %s failed: %d (%s) %s\n", #expr, rc_,        \
              hubc_strerror(rc_), hubc_error_last());                        \
      return 1;                                                              \
    }                                                                        \
  } while (0)

int main(void) {
  hubc_store_options opts = HUBC_STORE_OPTIONS_INIT;
  hubc_store *store = NULL;
  hubc_user *admin = NULL;
  hubc_contact *contact = NULL;
  hubc_id admin_id, id = 0;
  const char *names[] = {"email", "firstname"};
  const char *values[] = {"anna@example.com", "Anna"};
  const char *email;

  if (hubc_version_number() != HUBC_VERSION_NUMBER) {
    fprintf(stderr, "consumer: header version %d, library version %d\n",
            HUBC_VERSION_NUMBER, hubc_version_number());
    return 1;
  }

  CHECK(hubc_store_options_init(&opts, HUBC_STORE_OPTIONS_VERSION));
  opts.admin_email = "admin@example.com";
  CHECK(hubc_store_open(&store, &opts));
  CHECK(hubc_user_get_by_email(&admin, store, "admin@example.com"));
  admin_id = hubc_user_id(admin);
  hubc_user_free(admin);

  CHECK(hubc_contact_create(&id, store, admin_id, NULL, names, values, 2));
  CHECK(hubc_contact_get(&contact, store, id));
  email = hubc_contact_prop(contact, "email");
  if (hubc_contact_id(contact) != id || email == NULL ||
      strcmp(email, "anna@example.com") != 0) {
    fprintf(stderr, "consumer: read back contact %lld with email %s\n",
            (long long)hubc_contact_id(contact), email ? email : "(null)");
    hubc_contact_free(contact);
    hubc_store_close(store);
    return 1;
  }
  hubc_contact_free(contact);
  hubc_store_close(store);
  printf("consumer: hubcontacts %s, contact %lld ok\n", hubc_version_string(),
         (long long)id);
  return 0;
}
