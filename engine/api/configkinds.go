package api

import (
	"context"
	"net/http"
	"regexp"

	"github.com/gin-gonic/gin"

	"stride/engine/apperr"
	"stride/engine/config"
	"stride/engine/store"
)

// configService is what every configuration kind's service offers (objects,
// pipelines, metrics …): the engine/config lifecycle, validated by the kind.
type configService interface {
	List(ctx context.Context, db store.DB) ([]config.Doc, error)
	Get(ctx context.Context, db store.DB, key string) (config.Doc, error)
	Save(ctx context.Context, db store.DB, tenant, actor, key string, def map[string]any, ifVersion int64) (config.Doc, error)
	Publish(ctx context.Context, db store.DB, tenant, actor, key string) (config.Doc, error)
	Versions(ctx context.Context, db store.DB, key string) ([]config.VersionInfo, error)
}

// configKey is the shape of configuration keys (they name collections and
// appear in URLs).
var configKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// configRoutes are the five routes of a configuration kind under base
// (e.g. /api/v1/pipelines). get replaces the default GET of one document
// when the kind has more to say (objects: ?published=true).
func (s *Server) configRoutes(base, tag, noun, schema string, svc func() configService, get func(*gin.Context, *request) error) []route {
	if get == nil {
		get = func(c *gin.Context, r *request) error {
			o, err := svc().Get(c.Request.Context(), r.db, c.Param("key"))
			if err != nil {
				return err
			}
			c.Header("ETag", etag(o.Version))
			c.JSON(http.StatusOK, o)
			return nil
		}
	}
	return []route{
		{method: "GET", path: base, tag: tag, summary: "List " + noun + " definitions",
			access: configReader, resp: "ConfigList", status: 200, handle: func(c *gin.Context, r *request) error {
				docs, err := svc().List(c.Request.Context(), r.db)
				if err != nil {
					return err
				}
				items := make([]gin.H, 0, len(docs))
				for _, o := range docs {
					items = append(items, gin.H{"key": o.Key, "label": o.Label, "status": o.Status, "version": o.Version,
						"publishedVersion": o.PublishedVersion, "updatedAt": o.UpdatedAt})
				}
				c.JSON(http.StatusOK, gin.H{"items": items})
				return nil
			}},
		{method: "GET", path: base + "/:key", tag: tag, summary: "Get a " + noun + "'s working copy",
			access: configReader, resp: "ConfigDoc", status: 200, handle: get},
		{method: "PUT", path: base + "/:key", tag: tag, summary: "Save a " + noun + " definition as a draft (validated, formulas type-checked)",
			access: adminOnly, body: schema, resp: "ConfigDoc", status: 200, handle: func(c *gin.Context, r *request) error {
				key := c.Param("key")
				if !configKey.MatchString(key) {
					return apperr.Invalid("invalid key", apperr.FieldError{Pointer: "/key", Code: "pattern",
						Message: "use 1–40 lower-case letters, digits or _, starting with a letter"})
				}
				var def map[string]any
				if err := decodeJSON(c, &def); err != nil {
					return err
				}
				if def == nil {
					return apperr.BadRequest("the body must be a %s definition", noun)
				}
				v, err := ifMatch(c)
				if err != nil {
					return err
				}
				o, err := svc().Save(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, key, def, v)
				if err != nil {
					return err
				}
				c.Header("ETag", etag(o.Version))
				c.JSON(http.StatusOK, o)
				return nil
			}},
		{method: "POST", path: base + "/:key/publish", tag: tag, summary: "Publish the " + noun + "'s draft as a new immutable version",
			access: adminOnly, resp: "ConfigDoc", status: 200, handle: func(c *gin.Context, r *request) error {
				o, err := svc().Publish(c.Request.Context(), r.db, r.p.Tenant, r.p.UserID, c.Param("key"))
				if err != nil {
					return err
				}
				c.Header("ETag", etag(o.Version))
				c.JSON(http.StatusOK, o)
				return nil
			}},
		{method: "GET", path: base + "/:key/versions", tag: tag, summary: "List a " + noun + "'s published versions",
			access: configReader, resp: "VersionList", status: 200, handle: func(c *gin.Context, r *request) error {
				if _, err := svc().Get(c.Request.Context(), r.db, c.Param("key")); err != nil {
					return err
				}
				vs, err := svc().Versions(c.Request.Context(), r.db, c.Param("key"))
				if err != nil {
					return err
				}
				c.JSON(http.StatusOK, gin.H{"items": vs})
				return nil
			}},
	}
}
