package conformance

import (
	"fmt"
	"strings"
)

// erratum corrects one known defect of a published vector file.
type erratum struct {
	// exchange and path locate the item in the expected response.
	exchange int
	path     string
	// fix rewrites it.
	fix func(n *Node)
	// why says what is wrong with the published file.
	why string
}

// errata lists the corrections LoadFile applies, by file name. Each is a
// defect no server could match; the list is kept short and explained.
var errata = map[string][]erratum{
	"OMOS-O-1-14.xml": {{
		exchange: 1, path: "ResponseHeader/ProtocolVersion/ProtocolVersionMinor",
		fix: func(n *Node) { n.Value = int32(4) },
		why: "the response to a KMIP 1.4 request is recorded as 1.3",
	}},
	"TC_32_10_Asynchronous_Locate.xml": {{
		exchange: 8, path: "BatchItem/ResponsePayload/AsynchronousCorrelationValue",
		fix: func(n *Node) { n.Value, n.Var = nil, "ASYNCHRONOUS_CORRELATION_VALUE" },
		why: "the Cancel of $ASYNCHRONOUS_CORRELATION_VALUE answers with the recording server's literal correlation value 4d6bbfc35fe57fba",
	}},
	"TC_SJ_2_12_Register_and_Split_Join.xml": {{
		exchange: 5, path: "BatchItem/ResponsePayload/UniqueIdentifier",
		fix: func(n *Node) { n.Value, n.Var = nil, "UNIQUE_IDENTIFIER_4" },
		why: "the Get of $UNIQUE_IDENTIFIER_4 (the fourth part) answers $UNIQUE_IDENTIFIER_1",
	}},
	"TC_SJ_4_12_Register_and_Split_Join_with_XOR.xml": {{
		exchange: 5, path: "BatchItem/ResponsePayload/UniqueIdentifier",
		fix: func(n *Node) { n.Value, n.Var = nil, "UNIQUE_IDENTIFIER_4" },
		why: "the Get of $UNIQUE_IDENTIFIER_4 (the fourth part) answers $UNIQUE_IDENTIFIER_1",
	}},
	"TC_312_12_Register_Create_Get_attributes_Destroy.xml": {{
		exchange: 4, path: "BatchItem/ResponsePayload/UniqueIdentifier",
		fix: func(n *Node) { n.Value, n.Var = nil, "UNIQUE_IDENTIFIER_0" },
		why: "the Get of $UNIQUE_IDENTIFIER_0 answers with the recording server's literal identifier",
	}},
}

// applyErrata applies the corrections listed for the suite's file.
func applyErrata(s *Suite) error {
	for _, e := range errata[s.Name] {
		if e.exchange >= len(s.Exchanges) {
			return fmt.Errorf("erratum (%s): no exchange %d", e.why, e.exchange)
		}
		n := s.Exchanges[e.exchange].Response
		for _, seg := range strings.Split(e.path, "/") {
			tag, _ := tagByName(seg)
			n = n.Child(tag)
			if n == nil {
				return fmt.Errorf("erratum (%s): no %s in exchange %d", e.why, e.path, e.exchange)
			}
		}
		e.fix(n)
	}
	return nil
}
