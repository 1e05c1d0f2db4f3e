/// warden-bench: configs/bench.toml's resources and rules, in PocketBase's
/// own terms. It creates the schema only (and one user, for the bcrypt hash
/// PocketBase itself makes); the bench then writes the rows straight into
/// pb_data/data.db with the same ids and shape as the other systems.
migrate((app) => {
  // Ids are the other systems' integers as text ("1".."N"), so every
  // scenario picks the same rows; PocketBase's default id is 15 characters.
  const id = {
    name: "id", type: "text", system: true, primaryKey: true, required: true,
    min: 1, max: 15, pattern: "^[a-z0-9]+$", autogeneratePattern: "[a-z0-9]{15}",
  };

  // The built-in auth collection, with its default rules (a user reads and
  // updates itself, as bench.toml's users), password auth by email.
  const users = app.findCollectionByNameOrId("users");
  users.fields.getByName("id").min = 1;
  app.save(users);

  // seed 000: anyone reads; only the owner edits or deletes.
  app.save(new Collection({
    type: "base",
    name: "posts",
    listRule: "",
    viewRule: "",
    createRule: "@request.auth.id != ''",
    updateRule: "owner = @request.auth.id",
    deleteRule: "owner = @request.auth.id",
    fields: [
      id,
      { name: "title", type: "text" },
      { name: "content", type: "text" },
      { name: "published", type: "bool" },
      { name: "created_at", type: "autodate", onCreate: true, onUpdate: false },
      { name: "owner", type: "relation", collectionId: users.id, maxSelect: 1, cascadeDelete: true },
    ],
    indexes: ["CREATE INDEX idx_posts_owner ON posts (owner)"],
  }));

  const articles = new Collection({
    type: "base",
    name: "articles",
    createRule: "@request.auth.id != ''",
    updateRule: "author = @request.auth.id",
    fields: [
      id,
      { name: "title", type: "text" },
      { name: "body", type: "text" },
      { name: "created_on", type: "autodate", onCreate: true, onUpdate: false },
      { name: "author", type: "relation", collectionId: users.id, maxSelect: 1 },
    ],
    indexes: ["CREATE INDEX idx_articles_author ON articles (author)"],
  });
  app.save(articles);

  app.save(new Collection({
    type: "base",
    name: "acl",
    listRule: "user = @request.auth.id",
    viewRule: "user = @request.auth.id",
    fields: [
      id,
      { name: "article", type: "relation", collectionId: articles.id, maxSelect: 1, cascadeDelete: true },
      { name: "user", type: "relation", collectionId: users.id, maxSelect: 1, cascadeDelete: true },
    ],
    indexes: [
      "CREATE UNIQUE INDEX idx_acl_article_user ON acl (article, user)",
      "CREATE INDEX idx_acl_user ON acl (user)",
    ],
  }));

  // seed 004: the author, or a reader granted in acl. The grant is reached
  // through the back-relation `acl_via_article` (a LEFT JOIN on
  // acl.article = articles.id, which idx_acl_article_user serves).
  // `@collection.acl.article ?= id && @collection.acl.user ?=
  // @request.auth.id` says the same, but PocketBase joins @collection
  // without an ON clause and compares COALESCE(acl.article, '') with the
  // id, which no index serves: 2.8 s for one page at 100k rows.
  // PocketBase reads a missing value as "", as it does an anonymous
  // caller's id: without the first test, a guest would see every article
  // that has no grant (the bench's checks caught that).
  const visible =
    "@request.auth.id != '' && (author = @request.auth.id || acl_via_article.user ?= @request.auth.id)";
  articles.listRule = visible;
  articles.viewRule = visible;
  app.save(articles);

  // User 1, with the password the other systems' users have: the bench
  // copies PocketBase's own bcrypt hash to users 2..N.
  const one = new Record(users);
  one.set("id", "1");
  one.set("email", "user1@bench.test");
  one.setPassword("password123");
  app.save(one);

  // A deployed PocketBase has a superuser; without one, `serve` offers a
  // one-time installer link instead.
  const admin = new Record(app.findCollectionByNameOrId("_superusers"));
  admin.set("email", "admin@bench.test");
  admin.setPassword("warden-bench-admin");
  app.save(admin);
});
