package postgres

import (
	"context"
	"fmt"

	"github.com/octomesh/octomesh"
)

func errCustomerNotFound() error {
	return octomesh.Errorf(octomesh.ENOTFOUND, "no billing customer is recorded")
}

// SetCustomerID records orgID's customer ID at processor, audited when it
// changes.
func (d *DB) SetCustomerID(ctx context.Context, orgID, processor, customerID string) error {
	if err := octomesh.ValidateCustomer(processor, customerID); err != nil {
		return err
	}
	return d.write(ctx, func(w *writeTx) error {
		var n int
		if err := w.queryRow(`SELECT COUNT(*) FROM orgs WHERE id = $1`, orgID).Scan(&n); err != nil {
			return fmt.Errorf("set customer: %w", err)
		}
		if n == 0 {
			return octomesh.ErrOrgNotFound()
		}
		var old string
		err := w.queryRow(`SELECT customer_id FROM billing_customers WHERE org_id = $1 AND processor = $2`, orgID, processor).Scan(&old)
		switch {
		case err == nil && old == customerID:
			return nil
		case err == nil:
			_, err = w.exec(`UPDATE billing_customers SET customer_id = $1, updated_at = $2 WHERE org_id = $3 AND processor = $4`,
				customerID, nanos(w.now), orgID, processor)
		case noRows(err):
			_, err = w.exec(`INSERT INTO billing_customers (org_id, processor, customer_id, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)`,
				orgID, processor, customerID, nanos(w.now), nanos(w.now))
		}
		if isUnique(err) {
			return octomesh.Errorf(octomesh.EINVALID, "this customer ID belongs to another organisation").WithParam("customer_id")
		}
		if err != nil {
			return fmt.Errorf("set customer: %w", err)
		}
		return w.audit(&octomesh.AuditEntry{OrgID: orgID, Action: octomesh.AuditBillingCustomerSet, Target: orgID,
			Details: map[string]string{"processor": processor, "customer_id": customerID}})
	})
}

// CustomerID returns orgID's customer ID at processor, or ENOTFOUND.
func (d *DB) CustomerID(ctx context.Context, orgID, processor string) (string, error) {
	var id string
	err := d.queryRow(ctx, `SELECT customer_id FROM billing_customers WHERE org_id = $1 AND processor = $2`, orgID, processor).Scan(&id)
	if noRows(err) {
		return "", errCustomerNotFound()
	}
	if err != nil {
		return "", fmt.Errorf("get customer: %w", err)
	}
	return id, nil
}

// OrgByCustomerID returns the organisation of a processor's customer ID, or
// ENOTFOUND.
func (d *DB) OrgByCustomerID(ctx context.Context, processor, customerID string) (string, error) {
	var org string
	err := d.queryRow(ctx, `SELECT org_id FROM billing_customers WHERE processor = $1 AND customer_id = $2`, processor, customerID).Scan(&org)
	if noRows(err) {
		return "", errCustomerNotFound()
	}
	if err != nil {
		return "", fmt.Errorf("get customer: %w", err)
	}
	return org, nil
}
