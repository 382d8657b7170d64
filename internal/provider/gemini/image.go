package gemini

import (
	"net/url"
	"path"
	"regexp"
	"strings"
)

// imagePart translates an image URL into a Gemini part. Gemini fetches no
// arbitrary URLs: data: URLs are sent inline, and only gs:// objects and
// files uploaded to the Gemini Files API can be referenced by URI.
func imagePart(raw, param string) (part, error) {
	switch {
	case strings.HasPrefix(raw, "data:"):
		mime, data, ok := parseDataURL(raw)
		if !ok {
			return part{}, invalid(param, "image data URL must look like data:image/png;base64,...")
		}
		return part{InlineData: &blob{MimeType: mime, Data: data}}, nil
	case strings.HasPrefix(raw, "gs://"):
		return part{FileData: &fileData{MimeType: imageMIMEByExt(raw), FileURI: raw}}, nil
	case isFilesURI(raw):
		// The Files API knows the upload's type; none is needed here.
		return part{FileData: &fileData{FileURI: raw}}, nil
	}
	return part{}, invalid(param, "gemini accepts only inline (data:) images or uploaded files")
}

// parseDataURL splits data:<mime>[;params];base64,<data>. Only base64 data
// with an explicit media type is accepted.
func parseDataURL(raw string) (mime, data string, ok bool) {
	header, data, found := strings.Cut(strings.TrimPrefix(raw, "data:"), ",")
	if !found || data == "" {
		return "", "", false
	}
	params := strings.Split(header, ";")
	if len(params) < 2 || params[len(params)-1] != "base64" {
		return "", "", false
	}
	mime = strings.ToLower(strings.TrimSpace(params[0]))
	if !strings.Contains(mime, "/") {
		return "", "", false
	}
	return mime, data, true
}

// filesPath matches a Gemini Files API resource path.
var filesPath = regexp.MustCompile(`^/v1(alpha|beta)?/files/[a-z0-9-]+$`)

// isFilesURI reports whether raw is the URI of a file uploaded to the
// Gemini Files API, as its upload response reports it.
func isFilesURI(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && u.Scheme == "https" && u.Host == "generativelanguage.googleapis.com" &&
		u.RawQuery == "" && u.User == nil && filesPath.MatchString(u.Path)
}

// imageMIMEByExt guesses an image's type from its name; "" if unknown
// (Gemini then infers it).
func imageMIMEByExt(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".webp":
		return "image/webp"
	case ".heic":
		return "image/heic"
	case ".heif":
		return "image/heif"
	}
	return ""
}

// detailTracker folds the images' OpenAI detail levels into Gemini's one
// request-wide mediaResolution.
type detailTracker struct {
	resolution string
	conflict   bool
}

// add records one image's detail ("", auto, low or high).
func (d *detailTracker) add(detail, param string) error {
	var r string
	switch detail {
	case "", "auto":
		return nil
	case "low":
		r = "MEDIA_RESOLUTION_LOW"
	case "high":
		r = "MEDIA_RESOLUTION_HIGH"
	default:
		return invalid(param, "image detail must be auto, low or high")
	}
	if d.resolution != "" && d.resolution != r {
		d.conflict = true
	}
	d.resolution = r
	return nil
}
