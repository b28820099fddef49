package keys

import (
	"context"
	"fmt"

	"github.com/ovh/kmip-go"
)

// TemplateAttributes resolves named templates (KMIP 1.0–1.2; deprecated
// since 1.3) to the attributes they give, in order, and appends explicit,
// which override single-valued attributes from the templates.
func (m *Manager) TemplateAttributes(ctx context.Context, names []kmip.Name, explicit []kmip.Attribute) ([]kmip.Attribute, error) {
	var out []kmip.Attribute
	for _, n := range names {
		ids, _, err := m.Locate(ctx, LocateQuery{Attributes: []kmip.Attribute{
			{AttributeName: kmip.AttributeNameObjectType, AttributeValue: kmip.ObjectTypeTemplate},
			{AttributeName: kmip.AttributeNameName, AttributeValue: n},
		}})
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: template %q", ErrNotFound, n.NameValue)
		}
		o, err := m.Get(ctx, ids[0])
		if err != nil {
			return nil, err
		}
		t, ok := o.Value.(*kmip.Template)
		if !ok {
			return nil, fmt.Errorf("%w: template %q", ErrNotFound, n.NameValue)
		}
		out = mergeAttrs(out, t.Attribute)
	}
	return mergeAttrs(out, explicit), nil
}
