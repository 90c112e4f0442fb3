package iamsim

import (
	"net/http"
	"slices"
)

// rolesPerInstanceProfile is IAM's fixed quota, which AWS does not raise.
const rolesPerInstanceProfile = 1

func (s *Sim) addRoleToInstanceProfile(p params) (any, *apiError) {
	return s.withProfileAndRole(p, func(profile *instanceProfile, r *role) *apiError {
		// Adding the role a profile already has is refused too: the quota counts it.
		if len(profile.roles) >= rolesPerInstanceProfile {
			return limitExceeded("Cannot exceed quota for InstanceRolesPerInstanceProfile: %d", rolesPerInstanceProfile)
		}
		profile.roles = append(profile.roles, r)
		return nil
	})
}

func (s *Sim) removeRoleFromInstanceProfile(p params) (any, *apiError) {
	return s.withProfileAndRole(p, func(profile *instanceProfile, r *role) *apiError {
		i := slices.Index(profile.roles, r)
		if i < 0 {
			return newAPIError(CodeNoSuchEntity, http.StatusNotFound, "Role %s is not in instance profile %s.", r.name, profile.name)
		}
		profile.roles = slices.Delete(profile.roles, i, i+1)
		return nil
	})
}

// withProfileAndRole reads InstanceProfileName and RoleName and runs f on that profile and role
// with s.mu held. The actions that use it have no result element.
func (s *Sim) withProfileAndRole(p params, f func(*instanceProfile, *role) *apiError) (any, *apiError) {
	profileName, roleName, err := readProfileAndRole(p)
	if err != nil {
		return nil, err
	}
	return s.withProfile(profileName, func(profile *instanceProfile) (any, *apiError) {
		r, err := s.role(roleName)
		if err != nil {
			return nil, err
		}
		return nil, f(profile, r)
	})
}

func readProfileAndRole(p params) (profile, role string, err *apiError) {
	if profile, err = readProfileName(p); err != nil {
		return "", "", err
	}
	if role, err = p.required("RoleName", "roleName"); err != nil {
		return "", "", err
	}
	if err = checkName("roleName", role, maxRoleNameLength); err != nil {
		return "", "", err
	}
	return profile, role, nil
}
