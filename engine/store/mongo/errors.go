package mongo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/x/mongo/driver/topology"

	"stride/engine/store"
)

// Server error codes the adapter interprets.
const (
	codeInternalError   = 1
	codeNamespaceExists = 48
	codeNotImplemented  = 238 // FerretDB, for options it lacks
)

// invalidCodes are server errors caused by the request itself (a value of
// the wrong type for $inc, a path through a scalar, an index redefined…).
var invalidCodes = []int{
	2,     // BadValue
	9,     // FailedToParse
	14,    // TypeMismatch
	28,    // PathNotViable
	40,    // ConflictingUpdateOperators
	52,    // DollarPrefixedFieldName
	56,    // EmptyFieldName
	57,    // DottedFieldName
	66,    // ImmutableField
	67,    // CannotCreateIndex
	73,    // InvalidNamespace
	85,    // IndexOptionsConflict
	86,    // IndexKeySpecsConflict
	197,   // InvalidIndexSpecificationOption
	10334, // BSONObjectTooLarge
}

// unavailableCodes are server errors that a retry, possibly on another
// member, may cure.
var unavailableCodes = []int{
	6,     // HostUnreachable
	7,     // HostNotFound
	64,    // WriteConcernFailed
	89,    // NetworkTimeout
	91,    // ShutdownInProgress
	189,   // PrimarySteppedDown
	10107, // NotWritablePrimary
	11600, // InterruptedAtShutdown
	11602, // InterruptedDueToReplStateChange
	13435, // NotPrimaryNoSecondaryOk
	13436, // NotPrimaryOrSecondary
}

func hasCode(err error, codes ...int) bool {
	var se mongo.ServerError
	if !errors.As(err, &se) {
		return false
	}
	for _, c := range codes {
		if se.HasErrorCode(c) {
			return true
		}
	}
	return false
}

// isFerretUniqueViolation recognizes FerretDB v1's report of a unique index
// violated by an update, which it returns as an InternalError carrying the
// SQLite message instead of a duplicate key error (code 11000).
func isFerretUniqueViolation(err error) bool {
	return hasCode(err, codeInternalError) && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

func isUnavailable(err error) bool {
	var sel topology.ServerSelectionError
	var wq topology.WaitQueueTimeoutError
	return errors.As(err, &sel) || errors.As(err, &wq) ||
		errors.Is(err, mongo.ErrClientDisconnected) ||
		mongo.IsNetworkError(err) || hasCode(err, unavailableCodes...)
}

// mapErr wraps a driver error with context and the matching sentinel.
func mapErr(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(err, mongo.ErrNoDocuments):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	case mongo.IsDuplicateKeyError(err), isFerretUniqueViolation(err):
		return fmt.Errorf("%s: %w: %w", what, store.ErrDuplicate, err)
	case isUnavailable(err):
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("%s: %w: %w: %w", what, store.ErrUnavailable, ctxErr, err)
		}
		return fmt.Errorf("%s: %w: %w", what, store.ErrUnavailable, err)
	case ctx.Err() != nil:
		if errors.Is(err, ctx.Err()) {
			return fmt.Errorf("%s: %w", what, err)
		}
		return fmt.Errorf("%s: %w: %w", what, ctx.Err(), err)
	case hasCode(err, invalidCodes...):
		return fmt.Errorf("%s: %w: %w", what, store.ErrInvalid, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}
