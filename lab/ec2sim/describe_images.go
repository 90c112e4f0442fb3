package ec2sim

import (
	"slices"
	"time"
)

type describeImagesResponse struct {
	XMLName   struct{}   `xml:"http://ec2.amazonaws.com/doc/2016-11-15/ DescribeImagesResponse"`
	RequestID string     `xml:"requestId"`
	Images    []imageXML `xml:"imagesSet>item"`
	NextToken string     `xml:"nextToken,omitempty"`
}

// imageXML is an Image as EC2 renders it; note EC2 calls the owner imageOwnerId here.
type imageXML struct {
	ImageID            string   `xml:"imageId"`
	Name               string   `xml:"name"`
	Architecture       string   `xml:"architecture"`
	CreationDate       string   `xml:"creationDate"`
	OwnerID            string   `xml:"imageOwnerId"`
	OwnerAlias         string   `xml:"imageOwnerAlias,omitempty"`
	State              string   `xml:"imageState"`
	Public             bool     `xml:"isPublic"`
	ImageType          string   `xml:"imageType"`
	RootDeviceType     string   `xml:"rootDeviceType"`
	RootDeviceName     string   `xml:"rootDeviceName"`
	VirtualizationType string   `xml:"virtualizationType"`
	PlatformDetails    string   `xml:"platformDetails"`
	DeprecationTime    string   `xml:"deprecationTime,omitempty"`
	Tags               []tagXML `xml:"tagSet>item"`
}

// describeImages answers from the registry. An unknown ImageId.N fails the call, as EC2 does;
// deprecated images show only when named by id or with IncludeDeprecated, as for an image
// another account owns.
func (s *Sim) describeImages(p params, requestID string) (any, *apiError) {
	ids, owners := p.strings("ImageId"), p.strings("Owner")
	match, err := parseFilters(p, imageFilterField)
	if err != nil {
		return nil, err
	}
	if _, paged, _ := p.integer("MaxResults"); paged && len(ids) > 0 {
		return nil, newAPIError(CodeInvalidParameterCombination, "The parameter imageIdsSet cannot be used with the parameter maxResults")
	}
	includeDeprecated, err := p.boolean("IncludeDeprecated")
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if _, ok := s.imageByID(id); !ok {
			return nil, imageNotFound(id)
		}
	}
	now := s.clock()
	page, next, err := pageOf(p, s.images, allAtOnce, func(im Image) bool {
		hidden := im.deprecatedAt(now) && len(ids) == 0 && (includeDeprecated == nil || !*includeDeprecated)
		return !hidden && (len(ids) == 0 || slices.Contains(ids, im.ID)) &&
			(len(owners) == 0 || slices.ContainsFunc(owners, im.ownedBy)) && match.match(im)
	})
	if err != nil {
		return nil, err
	}
	resp := describeImagesResponse{RequestID: requestID, NextToken: next}
	for _, im := range page {
		resp.Images = append(resp.Images, im.toXML())
	}
	return resp, nil
}

func imageNotFound(id string) *apiError {
	return newAPIError(CodeInvalidAMIIDNotFound, "The image id '[%s]' does not exist", id)
}

func (im Image) deprecatedAt(now time.Time) bool {
	return !im.Deprecated.IsZero() && !im.Deprecated.After(now)
}

func (im Image) toXML() imageXML {
	x := imageXML{
		ImageID: im.ID, Name: im.Name, Architecture: im.Architecture, CreationDate: ec2Time(im.CreationDate),
		OwnerID: im.OwnerID, OwnerAlias: ownerAlias(im.OwnerID), State: "available", Public: ownerAlias(im.OwnerID) != "",
		ImageType: "machine", RootDeviceType: "ebs", RootDeviceName: im.rootDevice(), VirtualizationType: "hvm",
		PlatformDetails: "Linux/UNIX", Tags: tagsXML(im.Tags),
	}
	if !im.Deprecated.IsZero() {
		x.DeprecationTime = ec2Time(im.Deprecated)
	}
	return x
}

// imageFilterField names the DescribeImages filters the simulator understands.
func imageFilterField(name string) (filterField[Image], bool) {
	if f, ok := tagFilterField(name, func(im Image) map[string]string { return im.Tags }); ok {
		return f, true
	}
	one := func(get func(Image) string) (filterField[Image], bool) {
		return func(im Image) []string { return []string{get(im)} }, true
	}
	switch name {
	case "name":
		return one(func(im Image) string { return im.Name })
	case "image-id":
		return one(func(im Image) string { return im.ID })
	case "architecture":
		return one(func(im Image) string { return im.Architecture })
	case "owner-id":
		return one(func(im Image) string { return im.OwnerID })
	case "owner-alias":
		return one(func(im Image) string { return ownerAlias(im.OwnerID) })
	case "state":
		return one(func(Image) string { return "available" })
	}
	return nil, false
}
